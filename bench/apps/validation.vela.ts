// bench/validation.mjs's Vela servers: `POST /users` with a small JSON body checked against the same
// five rules, written as users write them, five ways: not at all ("none"), by hand in the handler
// ("hand"), and by a `body` schema in zod, valibot or arktype. Every server answers a valid body
// with the same 201 JSON.
import { type } from 'arktype';
import * as v from 'valibot';
import { z } from 'zod';
import { Controller, Module, Route, json, status, type Context, type Schema, type Valid } from 'vela';

export type Kind = 'none' | 'hand' | 'zod' | 'valibot' | 'arktype';
export const KINDS: readonly Kind[] = ['none', 'hand', 'zod', 'valibot', 'arktype'];

/** What the driver sends, every request: valid for all five servers. */
export const BODY = { name: 'Ada Lovelace', email: 'ada@example.com', age: 36, role: 'admin', newsletter: true };

interface NewUser {
  name: string;
  email: string;
  age: number;
  role: 'user' | 'admin';
  newsletter: boolean;
}

const EMAIL = /^[^@\s]+@[^@\s]+$/;

/** The five rules, in each library. */
export const SCHEMAS: Record<'zod' | 'valibot' | 'arktype', Schema> = {
  zod: z.object({
    name: z.string().min(1).max(100),
    email: z.string().regex(EMAIL),
    age: z.number().int().min(0).max(150),
    role: z.enum(['user', 'admin']),
    newsletter: z.boolean(),
  }),
  valibot: v.object({
    name: v.pipe(v.string(), v.minLength(1), v.maxLength(100)),
    email: v.pipe(v.string(), v.regex(EMAIL)),
    age: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(150)),
    role: v.picklist(['user', 'admin']),
    newsletter: v.boolean(),
  }),
  arktype: type({
    name: '0 < string <= 100',
    email: EMAIL,
    age: '0 <= number.integer <= 150',
    role: "'user' | 'admin'",
    newsletter: 'boolean',
  }),
};

/** The same rules by hand, as a handler without a schema library would check them. */
export function handCheck(body: unknown): body is NewUser {
  if (typeof body !== 'object' || body === null) return false;
  const { name, email, age, role, newsletter } = body as Record<string, unknown>;
  return (
    typeof name === 'string' &&
    name.length > 0 &&
    name.length <= 100 &&
    typeof email === 'string' &&
    EMAIL.test(email) &&
    Number.isInteger(age) &&
    (age as number) >= 0 &&
    (age as number) <= 150 &&
    (role === 'user' || role === 'admin') &&
    typeof newsletter === 'boolean'
  );
}

const created = (user: NewUser) => json({ id: 1, name: user.name });

/** The app for `kind`: one controller, one route. */
export function validationModule(kind: Kind) {
  let controller: object;
  if (kind === 'none') {
    @Controller()
    class UsersController {
      @Route('/users', { methods: ['post'] })
      create(ctx: Context) {
        return created(ctx.request.body as NewUser);
      }
    }
    controller = UsersController;
  } else if (kind === 'hand') {
    @Controller()
    class UsersController {
      @Route('/users', { methods: ['post'] })
      create(ctx: Context) {
        const body: unknown = ctx.request.body;
        return handCheck(body) ? created(body) : status(400, { body: { error: 'invalid request' } });
      }
    }
    controller = UsersController;
  } else {
    const schema = SCHEMAS[kind];
    @Controller()
    class UsersController {
      @Route('/users', { methods: ['post'], body: schema })
      create(_ctx: Context, { body }: Valid<{ body: typeof schema }>) {
        return created(body as NewUser);
      }
    }
    controller = UsersController;
  }
  @Module({ controllers: [controller as new () => object] })
  class AppModule {}
  return AppModule;
}
