// The same schemas written with each Standard Schema library Vela is tested with (zod 4, valibot 1,
// arktype 2), so every validation test runs once per library with the same assertions: what one
// library does, the others must do too, through Vela.
import { type } from 'arktype';
import * as v from 'valibot';
import { z } from 'zod';
import type { Schema } from 'vela';

export interface Library {
  name: string;
  /** Body `{ name: non-empty string, email: string → lower-cased, role: 'user' | 'admin' = 'user' }`. */
  NewUser: Schema;
  /** Query `{ page: digits → number = 1 }`: Koa gives strings, the handler a number. */
  Paging: Schema;
  /** Params `{ id: digits → number }`. */
  UserId: Schema;
  /** Headers `{ 'x-api-version': '1' | '2' }` (Node gives header names in lower case). */
  ApiVersion: Schema;
  /** WebSocket data `{ text: string, trimmed, then non-empty; tags: string[] = [] }`. */
  Comment: Schema;
  /** `{ name: string }` whose name is refused by a refinement that awaits `taken` (undefined: the library validates synchronously only). */
  uniqueName?: (taken: (name: string) => Promise<boolean>) => Schema;
  /** `{ text: string }` whose transform throws: a bug in the schema, not bad input. */
  Exploding: Schema;
}

const lower = (s: string) => s.toLowerCase();
const explode = (): never => {
  throw new Error('schema bug: secret detail');
};

export const LIBRARIES: Library[] = [
  {
    name: 'zod',
    NewUser: z.object({ name: z.string().min(1), email: z.string().transform(lower), role: z.enum(['user', 'admin']).default('user') }),
    Paging: z.object({ page: z.string().regex(/^\d+$/).transform(Number).default(1) }),
    UserId: z.object({ id: z.string().regex(/^\d+$/).transform(Number) }),
    ApiVersion: z.object({ 'x-api-version': z.enum(['1', '2']) }),
    Comment: z.object({ text: z.string().trim().min(1), tags: z.array(z.string()).default([]) }),
    uniqueName: (taken) => z.object({ name: z.string().refine(async (name) => !(await taken(name)), 'name is taken') }),
    Exploding: z.object({ text: z.string().transform(explode) }),
  },
  {
    name: 'valibot',
    NewUser: v.object({
      name: v.pipe(v.string(), v.minLength(1)),
      email: v.pipe(v.string(), v.transform(lower)),
      role: v.optional(v.picklist(['user', 'admin']), 'user'),
    }),
    Paging: v.object({ page: v.optional(v.pipe(v.string(), v.regex(/^\d+$/), v.transform(Number)), '1') }),
    UserId: v.object({ id: v.pipe(v.string(), v.regex(/^\d+$/), v.transform(Number)) }),
    ApiVersion: v.object({ 'x-api-version': v.picklist(['1', '2']) }),
    Comment: v.object({ text: v.pipe(v.string(), v.trim(), v.minLength(1)), tags: v.optional(v.array(v.string()), []) }),
    uniqueName: (taken) =>
      v.objectAsync({ name: v.pipeAsync(v.string(), v.checkAsync(async (name) => !(await taken(name)), 'name is taken')) }),
    Exploding: v.object({ text: v.pipe(v.string(), v.transform(explode)) }),
  },
  {
    name: 'arktype',
    NewUser: type({ name: 'string > 0', email: type('string').pipe(lower), role: "'user' | 'admin' = 'user'" }),
    Paging: type({ page: type(/^\d+$/).pipe(Number).default('1') }),
    UserId: type({ id: type(/^\d+$/).pipe(Number) }),
    ApiVersion: type({ 'x-api-version': "'1' | '2'" }),
    Comment: type({ text: type('string.trim').to('string > 0'), tags: type('string[]').default(() => []) }),
    // arktype validates synchronously only: no refinement can await.
    Exploding: type({ text: type('string').pipe(explode) }),
  },
];

export const ASYNC_LIBRARIES = LIBRARIES.filter((library) => library.uniqueName !== undefined);
