// One small app for the vela/testing tests: a provider to replace, routes that echo what they got
// (method, body, cookies), set and clear cookies, fail, redirect or never finish, and gateways
// that echo, refuse, stop, or answer late.
import { Readable } from 'node:stream';
import {
  Controller,
  Injectable,
  Module,
  OnMessage,
  Route,
  WebSocket,
  json,
  redirect,
  reply,
  stop,
  type Connection,
  type Context,
} from 'vela';

@Injectable()
export class Greeter {
  greet(name: string) {
    return `Hello, ${name}!`;
  }
}

/** Holds /api/slow until the test lets it through: a request in flight, without guessing a delay. */
@Injectable()
export class Gate {
  #reach!: () => void;
  #open!: () => void;
  readonly reached = new Promise<void>((resolve) => (this.#reach = resolve));
  readonly #opened = new Promise<void>((resolve) => (this.#open = resolve));

  async pass() {
    this.#reach();
    await this.#opened;
  }

  open() {
    this.#open();
  }
}

@Controller({ prefix: '/api' })
class ApiController {
  constructor(
    private readonly greeter: Greeter,
    private readonly gate: Gate,
  ) {}

  @Route('/greet/:name')
  greet(ctx: Context) {
    return json({ greeting: this.greeter.greet(ctx.params.name!) });
  }

  @Route('/me')
  me(ctx: Context) {
    const visits = (ctx.state.session.get<number>('visits') ?? 0) + 1;
    ctx.state.session.set('visits', visits);
    return json({ session: ctx.state.session.id, visits });
  }

  @Route('/logout', { methods: ['post'] })
  async logout(ctx: Context) {
    await ctx.state.session.destroy();
    return json({ bye: true }, { status: 200 });
  }

  @Route('/echo', { methods: ['get', 'post', 'put', 'patch', 'delete'] })
  echo(ctx: Context) {
    return json(
      { method: ctx.method, type: ctx.get('content-type'), body: ctx.request.body ?? null, cookie: ctx.get('cookie'), hello: ctx.get('x-hello') },
      { status: 200 },
    );
  }

  @Route('/cookies/:name', { methods: ['post'] })
  setCookie(ctx: Context) {
    const { value, path } = ctx.request.body as { value: string | null; path?: string };
    ctx.cookies.set(ctx.params.name!, value, { path, httpOnly: false });
    return json({ set: ctx.params.name }, { status: 200 });
  }

  @Route('/docs/page')
  docs(ctx: Context) {
    return json({ cookie: ctx.get('cookie') });
  }

  @Route('/slow')
  async slow() {
    await this.gate.pass();
    return json({ slow: true });
  }

  @Route('/boom')
  boom() {
    throw new Error('the database is on fire');
  }

  @Route('/elsewhere')
  elsewhere() {
    return redirect('/api/me');
  }

  @Route('/endless')
  endless() {
    // A body that never ends: only the client going away finishes this response.
    const body = new Readable({ read() {} });
    body.push('first chunk\n');
    return ['stream', body];
  }
}

function stream(ctx: Context, body: Readable) {
  ctx.type = 'text/plain';
  ctx.body = body;
}

// Reads the session id on the upgrade: sessions are lazy, so this is what starts one (its cookie on
// the 101) for a socket opened before any HTTP request, as the tests of the cookie jar need.
@WebSocket('/echo', { security: (ctx: Context) => Boolean(ctx.state.session.id) })
class EchoGateway {
  init(conn: Connection) {
    return reply(`welcome ${conn.sessionId}`);
  }

  @OnMessage()
  echo(text: string, conn: Connection) {
    if (text === 'bye') return stop(4001, 'see you');
    if (text.startsWith('later ')) {
      setTimeout(() => conn.send(text.slice('later '.length)), 30);
      return undefined;
    }
    return reply(`Echo: ${text}`);
  }

  @OnMessage({ binary: true })
  bytes(data: Buffer) {
    return reply(Buffer.from([...data].reverse()));
  }
}

@WebSocket('/rooms')
class RoomGateway {
  @OnMessage('join')
  join(data: { room: string }) {
    return reply(json({ joined: data.room }));
  }
}

@WebSocket('/private', { security: () => false })
class PrivateGateway {
  @OnMessage()
  never() {}
}

@WebSocket('/members', { security: () => redirect('/login') })
class MembersGateway {
  @OnMessage()
  never() {}
}

@Module({
  controllers: [ApiController],
  gateways: [EchoGateway, RoomGateway, PrivateGateway, MembersGateway],
  providers: [Greeter, Gate],
  handlers: { stream },
})
export class AppModule {}
