// Compile-time proof (checked by `npm run typecheck`): schema outputs flow into handlers, and a
// handler typed against something else does not compile.
import type { Context } from 'koa';
import { z } from 'zod';
import * as v from 'valibot';
import { type } from 'arktype';
import { Controller, Route, WebSocket, OnMessage, type Valid, type Connection } from '../../src/index.js';

const NewUser = z.object({ name: z.string(), age: z.coerce.number() });
const Paging = v.object({ page: v.pipe(v.string(), v.transform(Number)) });
const Comment = type({ text: 'string' });

@Controller()
class C {
  @Route('/users', { methods: ['post'], body: NewUser, query: Paging })
  create(_ctx: Context, { body, query }: Valid<{ body: typeof NewUser; query: typeof Paging }>) {
    const n: number = body.age + query.page;
    return n;
  }
  @Route('/plain')
  plain(_ctx: Context) { return 1; }
  @Route(404)
  nf(_ctx: Context, _e: unknown) { return 1; }
  // @ts-expect-error the handler expects a field the schema does not produce
  @Route('/bad', { methods: ['post'], body: NewUser })
  bad(_ctx: Context, { body }: { body: { email: string } }) { return body; }
}

@WebSocket('/ws')
class G {
  @OnMessage('post', { data: Comment })
  post(data: { text: string }, _conn: Connection) { return data.text; }
  // @ts-expect-error number is not what the schema produces
  @OnMessage('bad', { data: Comment })
  bad(data: number) { return data; }
  @OnMessage('free')
  free(data: unknown) { return data; }
  @OnMessage()
  text(t: string) { return t; }
}
export { C, G };

@Controller()
class NoSchema {
  // @ts-expect-error a route without schemas passes no second argument
  @Route('/none')
  none(_ctx: Context, input: Valid) { return input; }
}
export { NoSchema };
