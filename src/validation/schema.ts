// The schema types Vela accepts: any Standard Schema (zod ≥ 3.24, valibot ≥ 1, arktype ≥ 2, …).
// Only the types come from @standard-schema/spec; Vela never depends on a schema library.
import type { StandardSchemaV1 } from '@standard-schema/spec';

/** Any Standard Schema: what `@Route(path, { body })` and `@OnMessage(event, { data })` take. */
export type Schema<Input = unknown, Output = Input> = StandardSchemaV1<Input, Output>;

/** What a schema produces once it has validated (coerced, defaulted, transformed). */
export type Infer<S> = S extends StandardSchemaV1 ? StandardSchemaV1.InferOutput<S> : unknown;

/** The parts of an HTTP request a route can validate. */
export interface InputSchemas {
  body?: Schema;
  query?: Schema;
  params?: Schema;
  headers?: Schema;
}

/**
 * A route handler's second argument: each validated part, typed by its schema's output. A part
 * without a schema is what Koa gives (`ctx.request.body`, `ctx.query`, `ctx.params`, headers).
 *
 * @example
 * @Route('/users', { methods: ['post'], body: NewUser })
 * create(ctx: Context, { body }: Valid<{ body: typeof NewUser }>) { … }   // body: z.infer<typeof NewUser>
 */
export interface Valid<S extends InputSchemas = InputSchemas> {
  body: S['body'] extends Schema ? Infer<S['body']> : unknown;
  query: S['query'] extends Schema ? Infer<S['query']> : Record<string, string | string[] | undefined>;
  params: S['params'] extends Schema ? Infer<S['params']> : Record<string, string>;
  headers: S['headers'] extends Schema ? Infer<S['headers']> : Record<string, string | string[] | undefined>;
}
