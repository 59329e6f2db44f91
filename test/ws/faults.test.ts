// When a gateway callback fails (throws, rejects, returns what no one can send) only its socket
// closes, with 1011, and the log says which callback of which connection; a @FallbackController
// may first turn an unexpected return into a reply. Then the reliability battery's cases: a
// callback that fails (13), a client that vanishes without a close frame (15) or while its upgrade
// is still in security (16), and what a failure may tell the client (29). In each, only the
// connection concerned ends, exactly once, and the server keeps nothing of it: channels, Hub maps,
// its process (collected), its TCP socket.
import { connect as tcpConnect, type Socket } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  Connection,
  FallbackController,
  Module,
  OnInfo,
  OnMessage,
  PubSub,
  WebSocket,
  json,
  reply,
  stop,
  type Class,
  type CloseReason,
  type Fallback,
  type PubSubMessage,
  type WebSocketOptions,
} from 'vela';
import { startTestApp, type LogEntry, type TestApp, type TestSocket } from 'vela/testing';
import { deferred } from '../support/deferred.js';
import { Lifecycle, connectionCount, eventually, formatLoggedStacks, serveGateway, socketOf, upgradeRequest } from './support.js';

async function serve(...gateways: Class[]) {
  @Module({ gateways })
  class AppModule {}
  return startTestApp(AppModule);
}

/** Connects to a gateway whose init replies with the connection id; returns the client and the id. */
async function connectWithId(app: TestApp, path: string): Promise<{ client: TestSocket; id: string }> {
  const client = await app.ws(path);
  return { client, id: String(await client.recv()) };
}

function failures(app: TestApp): LogEntry[] {
  return app.logs.entries.filter((entry) => entry.level === 'error');
}

/** The one error logged, with its Error's message in place of the Error. */
function onlyFailure(app: TestApp): { message: string; fields: Record<string, unknown> } {
  const logged = failures(app);
  expect(logged).toHaveLength(1);
  const { message, fields } = logged[0]!;
  expect(fields.error).toBeInstanceOf(Error);
  return { message, fields: { ...fields, error: (fields.error as Error).message } };
}

describe('a handler that throws', () => {
  @WebSocket('/faulty')
  class FaultyGateway {
    init(conn: Connection) {
      return reply(conn.id);
    }

    @OnMessage()
    handle(text: string) {
      if (text === 'throw') throw new Error('boom');
      if (text === 'reject') return Promise.reject(new Error('async boom'));
      return reply(`ok ${text}`);
    }
  }

  for (const [how, frame, error] of [
    ['synchronously', 'throw', 'boom'],
    ['asynchronously', 'reject', 'async boom'],
  ] as const) {
    it(`${how}: closes only that socket with 1011 and logs the handler and connection`, async () => {
      const app = await serve(FaultyGateway);
      const { client, id } = await connectWithId(app, '/faulty');
      const { client: bystander } = await connectWithId(app, '/faulty');

      client.sendText(frame);
      expect(await client.closed).toEqual({ code: 1011, reason: 'internal error' });
      expect(onlyFailure(app)).toEqual({
        message: 'gateway callback failed',
        fields: { gateway: 'FaultyGateway', connection: id, handler: 'FaultyGateway.handle', error },
      });

      bystander.sendText('still served');
      expect(await bystander.recv()).toBe('ok still served');
      const { client: newcomer } = await connectWithId(app, '/faulty');
      newcomer.sendText('welcome');
      expect(await newcomer.recv()).toBe('ok welcome');
    });
  }

  it('in @OnInfo: closes with 1011 and names the info handler', async () => {
    const conns: Connection[] = [];
    @WebSocket('/info-fault')
    class InfoFaultGateway {
      init(conn: Connection) {
        conns.push(conn);
      }

      @OnInfo({ topic: 'explode' })
      explode() {
        throw new Error('info boom');
      }

      @OnMessage()
      echo(text: string) {
        return reply(text);
      }
    }
    const app = await serve(InfoFaultGateway);
    const client = await app.ws('/info-fault');

    conns[0]!.info({ topic: 'explode' });
    expect((await client.closed).code).toBe(1011);
    expect(onlyFailure(app).fields).toMatchObject({ handler: 'InfoFaultGateway.explode', error: 'info boom' });
  });

  it('by asking for a close code that cannot be sent: closes with 1011', async () => {
    @WebSocket('/bad-close')
    class BadCloseGateway {
      @OnMessage()
      close(_text: string, conn: Connection) {
        conn.close(1006);
      }
    }
    const app = await serve(BadCloseGateway);
    const client = await app.ws('/bad-close');

    client.sendText('close');
    expect((await client.closed).code).toBe(1011);
    expect(onlyFailure(app).fields.error).toMatch(/^Close code 1006 cannot be sent/);
  });
});

describe('an init that fails', () => {
  it('closes with 1011 when init throws', async () => {
    @WebSocket('/bad-init')
    class BadInitGateway {
      init() {
        throw new Error('no room');
      }

      @OnMessage()
      echo(text: string) {
        return reply(text);
      }
    }
    const app = await serve(BadInitGateway);
    const client = await app.ws('/bad-init');

    expect(await client.closed).toEqual({ code: 1011, reason: 'internal error' });
    expect(onlyFailure(app).fields).toMatchObject({ gateway: 'BadInitGateway', handler: 'BadInitGateway.init', error: 'no room' });
  });

  it('closes with 1011 when the constructor throws, and terminate does not run on the half-built gateway', async () => {
    let terminated = 0;
    @WebSocket('/bad-constructor')
    class BadConstructorGateway {
      constructor() {
        throw new Error('cannot build');
      }

      @OnMessage()
      echo(text: string) {
        return reply(text);
      }

      terminate() {
        terminated += 1;
      }
    }
    const app = await serve(BadConstructorGateway);
    const client = await app.ws('/bad-constructor');

    expect((await client.closed).code).toBe(1011);
    expect(onlyFailure(app).fields).toMatchObject({ handler: 'BadConstructorGateway.init', error: 'cannot build' });
    await app.close();
    expect(terminated).toBe(0);
  });
});

describe('a terminate that fails', () => {
  for (const how of ['throws', 'rejects'] as const) {
    it(`${how}: is logged, and the server carries on`, async () => {
      const reached = deferred();
      @WebSocket('/bad-terminate')
      class BadTerminateGateway {
        init(conn: Connection) {
          return reply(conn.id);
        }

        @OnMessage()
        echo(text: string) {
          return reply(text);
        }

        terminate() {
          reached.resolve();
          if (how === 'throws') throw new Error('cleanup failed');
          return Promise.reject(new Error('cleanup failed'));
        }
      }
      const app = await serve(BadTerminateGateway);
      const { client, id } = await connectWithId(app, '/bad-terminate');

      await client.close();
      await reached.promise;
      // A round trip on a new socket: the server is up, and the failure was logged long before.
      const { client: next } = await connectWithId(app, '/bad-terminate');
      next.sendText('alive');
      expect(await next.recv()).toBe('alive');
      expect(onlyFailure(app)).toEqual({
        message: 'gateway callback failed',
        fields: { gateway: 'BadTerminateGateway', connection: id, handler: 'BadTerminateGateway.terminate', error: 'cleanup failed' },
      });
    });
  }
});

describe('a return that is not a gateway result', () => {
  /** A gateway on `path` whose answers depend on the frame, with `fallback` as its @FallbackController. */
  function answerGateway(path = '/answers', fallback?: Class<Fallback>): Class {
    @WebSocket(path)
    class AnswerGateway {
      @OnMessage()
      answer(text: string): unknown {
        if (text === 'number') return 42;
        if (text === 'tag') return ['nope'];
        if (text === 'error') return ['error', 'not_found'];
        if (text === 'frame') return reply('half', 42 as never);
        return reply(`plain ${text}`);
      }
    }
    if (fallback) FallbackController(fallback)(AnswerGateway);
    return AnswerGateway;
  }

  it('closes with 1011 and logs what was returned and what to return instead', async () => {
    for (const [frame, shown] of [
      ['number', '42'],
      ['tag', "[ 'nope' ]"],
    ]) {
      const app = await serve(answerGateway());
      const client = await app.ws('/answers');

      client.sendText(frame!);
      expect((await client.closed).code).toBe(1011);
      expect(onlyFailure(app).fields).toMatchObject({
        handler: 'AnswerGateway.answer',
        error:
          `AnswerGateway.answer returned ${shown}; a gateway callback returns nothing, reply(...frames) or stop(code, reason). ` +
          'Add a @FallbackController to the gateway or its module to resolve other values.',
      });
      await app.close();
    }
  });

  it('sends none of a reply holding a value that is not a frame', async () => {
    const app = await serve(answerGateway());
    const client = await app.ws('/answers');

    client.sendText('frame');
    expect((await client.closed).code).toBe(1011);
    await expect(client.recv()).rejects.toThrow('closed with 1011 "internal error" before a message arrived');
    expect(onlyFailure(app).fields.error).toBe('number 42 is not a frame: send a string, a Buffer or Uint8Array, or json(value).');
  });

  describe('with a @FallbackController', () => {
    /** Turns ['error', reason] into a reply; anything else into a close. */
    class ErrorFallback implements Fallback {
      static targets: unknown[] = [];

      resolve(conn: unknown, returned: unknown) {
        ErrorFallback.targets.push(conn);
        if (Array.isArray(returned) && returned[0] === 'error') return reply(`resolved: ${String(returned[1])}`);
        return stop(4000, `unresolved ${String(returned)}`);
      }
    }

    it("on the gateway: resolve(conn, returned)'s reply is sent, and the socket stays open", async () => {
      ErrorFallback.targets = [];
      const app = await serve(answerGateway('/answers', ErrorFallback));
      const client = await app.ws('/answers');

      client.sendText('error');
      expect(await client.recv()).toBe('resolved: not_found');
      client.sendText('again');
      expect(await client.recv()).toBe('plain again');
      client.sendText('number');
      expect(await client.closed).toEqual({ code: 4000, reason: 'unresolved 42' });
      expect(ErrorFallback.targets).toHaveLength(2);
      expect(ErrorFallback.targets[0]).toBeInstanceOf(Connection);
      expect(failures(app)).toEqual([]);
    });

    it("on the module: applies to the module's gateways; a gateway's own fallback wins", async () => {
      class ModuleFallback implements Fallback {
        resolve() {
          return reply('from the module');
        }
      }
      @Module({ gateways: [answerGateway('/plain'), answerGateway('/own', ErrorFallback)] })
      @FallbackController(ModuleFallback)
      class AppModule {}
      const app = await startTestApp(AppModule);
      const plain = await app.ws('/plain');
      const own = await app.ws('/own');

      plain.sendText('error');
      expect(await plain.recv()).toBe('from the module');
      own.sendText('error');
      expect(await own.recv()).toBe('resolved: not_found');
    });

    it('may resolve asynchronously', async () => {
      class AsyncFallback implements Fallback {
        async resolve(_conn: unknown, returned: unknown) {
          await Promise.resolve();
          return reply(`later: ${JSON.stringify(returned)}`);
        }
      }
      const app = await serve(answerGateway('/answers', AsyncFallback));
      const client = await app.ws('/answers');

      client.sendText('tag');
      client.sendText('next');
      expect(await client.recv()).toBe('later: ["nope"]');
      expect(await client.recv()).toBe('plain next');
    });

    it('closes with 1011 when the fallback returns what it cannot send either, naming both classes', async () => {
      class GarbageFallback implements Fallback {
        resolve() {
          return 'garbage';
        }
      }
      const app = await serve(answerGateway('/answers', GarbageFallback));
      const client = await app.ws('/answers');

      client.sendText('error');
      expect((await client.closed).code).toBe(1011);
      expect(onlyFailure(app).fields).toMatchObject({
        handler: 'AnswerGateway.answer',
        error:
          "GarbageFallback.resolve returned 'garbage' for what AnswerGateway.answer returned ([ 'error', 'not_found' ]); " +
          'on a gateway it must return nothing, reply(...frames) or stop(code, reason).',
      });
    });

    it('closes with 1011 when the fallback throws', async () => {
      class ThrowingFallback implements Fallback {
        resolve(): never {
          throw new Error('fallback broke');
        }
      }
      const app = await serve(answerGateway('/answers', ThrowingFallback));
      const client = await app.ws('/answers');

      client.sendText('error');
      expect((await client.closed).code).toBe(1011);
      expect(onlyFailure(app).fields).toMatchObject({ handler: 'AnswerGateway.answer', error: 'fallback broke' });
    });
  });
});

type FailurePoint = 'init' | 'message' | 'info' | 'terminate';

/**
 * `/room?fail=<point>-<throw|reject>`: joins 'room' and a channel of its own in init, echoes text,
 * relays every 'room' message; the connection named in the query fails at that point.
 */
function roomGateway(life: Lifecycle, options: WebSocketOptions = {}): Class {
  @WebSocket('/room', { heartbeat: 0, ...options })
  class RoomGateway {
    #conn!: Connection;
    #fail = '';

    constructor(private readonly pubsub: PubSub) {}

    init(conn: Connection) {
      this.#conn = conn;
      this.#fail = String(conn.request.query.fail ?? '');
      life.init(conn);
      this.pubsub.join('room');
      this.pubsub.join(`own-${conn.id}`);
      return this.#maybeFail('init', reply(conn.id));
    }

    @OnMessage()
    echo(text: string) {
      return this.#maybeFail('message', reply(`echo ${text}`));
    }

    @OnInfo({ channel: 'room' })
    relay(message: PubSubMessage<string>) {
      if (message.topic === 'fail') return this.#maybeFail('info', undefined);
      return reply(`room ${message.payload}`);
    }

    terminate(reason: CloseReason) {
      life.terminate(this.#conn, reason);
      return this.#maybeFail('terminate', undefined);
    }

    #maybeFail<T>(point: FailurePoint, otherwise: T): T | Promise<never> {
      if (this.#fail === `${point}-throw`) throw new Error(`${point} failed on purpose`);
      if (this.#fail === `${point}-reject`) return Promise.reject(new Error(`${point} failed on purpose`));
      return otherwise;
    }
  }
  return RoomGateway;
}

describe('WebSocket faults', () => {
  it('13. a throw or rejection in init, @OnMessage, @OnInfo or terminate closes only that socket (1011), terminate runs once, channels are left', async () => {
    const life = new Lifecycle();
    const { app, hub } = await serveGateway(roomGateway(life));
    const bystanders = await Promise.all([connectWithId(app, '/room'), connectWithId(app, '/room')]);
    const bystanderIds = bystanders.map(({ id }) => id).sort();
    const baseline = hub().sizes;
    let logged = 0;

    for (const point of ['init', 'message', 'info', 'terminate'] as const) {
      for (const how of ['throw', 'reject'] as const) {
        const what = `${point}-${how}`;
        const client = await app.ws(`/room?fail=${what}`);
        const id = life.inits.at(-1)!;
        if (point !== 'init') expect(await client.recv()).toBe(id);
        if (point === 'message') client.sendText('fail');
        if (point === 'info') await app.pubsub.broadcast('room', 'fail', null);
        if (point === 'terminate') {
          expect(await app.pubsub.members('room')).toContain(id);
          await client.close(1000, 'bye');
        }

        const closed = await client.closed;
        expect(closed, what).toEqual(point === 'terminate' ? { code: 1000, reason: 'bye' } : { code: 1011, reason: 'internal error' });
        await life.terminated(id);
        formatLoggedStacks(app.logs.entries);
        await life.gone(id);
        expect(life.terminations.get(id), what).toHaveLength(1);
        expect(await app.pubsub.members('room'), what).toEqual(expect.arrayContaining(bystanderIds));
        expect(await app.pubsub.members('room'), what).toHaveLength(2);
        expect(await app.pubsub.members(`own-${id}`), what).toEqual([]);
        expect(hub().sizes, what).toEqual(baseline);

        const errors = app.logs.entries.filter((entry) => entry.level === 'error');
        expect(errors, what).toHaveLength((logged += 1));
        const { message, fields } = errors.at(-1)!;
        expect({ message, ...fields, error: (fields.error as Error).message }, what).toEqual({
          message: 'gateway callback failed',
          gateway: 'RoomGateway',
          connection: id,
          handler: `RoomGateway.${point === 'message' ? 'echo' : point === 'info' ? 'relay' : point}`,
          error: `${point} failed on purpose`,
        });

        // The others carry on (the 'fail' message was nothing to them): their room still reaches
        // them, and they still answer.
        await app.pubsub.broadcast('room', 'news', what);
        for (const { client: bystander } of bystanders) {
          expect(await bystander.recv(), what).toBe(`room ${what}`);
          bystander.sendText(what);
          expect(await bystander.recv(), what).toBe(`echo ${what}`);
        }
      }
    }
    expect(await connectionCount(app.server)).toBe(2);
    expect(app.logs.entries.filter((entry) => entry.level === 'warn')).toEqual([]);
  });

  describe('15. a client that vanishes without a close frame', () => {
    const HEARTBEAT = 200;

    for (const how of ['resets its TCP connection', 'stops reading and answering pings'] as const) {
      it(`15. a client that ${how} is detected and fully cleaned up within 2 × heartbeat`, async () => {
        const life = new Lifecycle();
        // A long idle timeout: a timer per connection that must be cleared with it.
        const { app, hub } = await serveGateway(roomGateway(life, { heartbeat: HEARTBEAT, idleTimeout: 3_600_000 }));
        const bystander = await connectWithId(app, '/room');
        const baseline = { hub: hub().sizes, sockets: await connectionCount(app.server) };
        const { client, id } = await connectWithId(app, '/room');
        expect(await app.pubsub.members('room')).toHaveLength(2);

        // Every heartbeat sweep pings every socket: the bystander's pings count the sweeps.
        let sweeps = 0;
        bystander.client.raw.on('ping', () => (sweeps += 1));
        const vanished = performance.now();
        if (how === 'resets its TCP connection') {
          socketOf(client).resetAndDestroy();
        } else {
          // Nothing read, so no ping seen and no pong sent; and nothing written either.
          socketOf(client).pause();
        }
        expect(await life.terminated(id, 10 * HEARTBEAT)).toEqual({ code: 1006, reason: '' });
        const detected = performance.now() - vanished;
        const sweepsToDetect = sweeps;
        await life.gone(id);
        const cleaned = performance.now() - vanished;
        console.log(
          `15. a client that ${how}: terminate after ${detected.toFixed(0)} ms (${sweepsToDetect} heartbeat sweeps), ` +
            `collected after ${cleaned.toFixed(0)} ms (heartbeat ${HEARTBEAT} ms)`,
        );

        // Two sweeps at most: the first pings it (or finds it silent), the next cuts it. Counted in
        // sweeps, not ms, which a loaded machine's late timers would stretch.
        expect(sweepsToDetect).toBeLessThanOrEqual(2);
        expect(detected).toBeLessThan(4 * HEARTBEAT);
        expect(life.terminations.get(id)).toHaveLength(1);
        expect(await app.pubsub.members('room')).toEqual([bystander.id]);
        expect(await app.pubsub.members(`own-${id}`)).toEqual([]);
        expect(hub().sizes).toEqual(baseline.hub);
        expect(await connectionCount(app.server)).toBe(baseline.sockets);
        if (how === 'stops reading and answering pings') {
          expect(app.logs.entries).toContainEqual({
            level: 'debug',
            message: 'websocket peer missed a heartbeat',
            fields: { gateway: 'RoomGateway', connection: id },
          });
        }
        // The bystander answered every ping, and is still there.
        bystander.client.sendText('still here');
        expect(await bystander.client.recv()).toBe('echo still here');
        expect(app.logs.entries.filter((entry) => entry.level !== 'debug')).toEqual([]);
      });
    }
  });

  describe('16. a client that goes while async security is still running on its upgrade', () => {
    for (const [how, leave] of [
      ['resets', (socket: Socket) => socket.resetAndDestroy()],
      ['half-closes (FIN)', (socket: Socket) => socket.end()],
    ] as const) {
      for (const verdict of [true, false]) {
        it(`16. a client that ${how} during security, which then says ${verdict}: no crash, no socket, no process`, async () => {
          const life = new Lifecycle();
          const entered = deferred();
          const decide = deferred<boolean>();
          let calls = 0;
          const security = async () => {
            calls += 1;
            if (calls > 1) return true;
            entered.resolve();
            return decide.promise;
          };
          const { app, hub } = await serveGateway(roomGateway(life, { security }));
          onTestFinished(() => decide.resolve(verdict));
          const uncaught: unknown[] = [];
          const onUncaught = (error: unknown) => uncaught.push(error);
          process.on('uncaughtException', onUncaught);
          onTestFinished(() => void process.off('uncaughtException', onUncaught));

          const socket = tcpConnect(app.port, '127.0.0.1');
          socket.on('error', () => {});
          await new Promise((resolve) => socket.once('connect', resolve));
          socket.write(upgradeRequest(app, '/room'));
          await entered.promise;
          leave(socket);
          // The server sees the client go before security answers (a reset at once; a FIN once it
          // has closed its side too), so the upgrade has nothing left to complete.
          await eventually(() => connectionCount(app.server), (count) => count === 0, 'the server to drop the socket');
          decide.resolve(verdict);

          // A new upgrade goes all the way through: by then the first one has been settled.
          const next = await connectWithId(app, '/room');
          expect(life.inits).toEqual([next.id]);
          expect(life.terminations.size).toBe(0);
          expect(hub().sizes).toMatchObject({ connections: 1, members: 1 });
          expect(await connectionCount(app.server)).toBe(1);
          expect(uncaught).toEqual([]);
          expect(app.logs.entries.filter((entry) => entry.level !== 'debug')).toEqual([]);
        });
      }
    }
  });

  describe('29. no stack trace or internal message reaches a client', () => {
    const SECRET = 'db password hunter2 at /srv/app/src/orders.ts:42';
    const LEAKS = ['hunter2', '/srv/', '.ts', 'at ', 'Error:', 'TypeError', 'orders', 'OrdersGateway'];

    it('29. a failing gateway callback closes with 1011 and the generic reason only', async () => {
      const conns: Connection[] = [];
      @WebSocket('/orders', { heartbeat: 0 })
      class OrdersGateway {
        init(conn: Connection) {
          conns.push(conn);
          if (conn.request.query.fail === 'init') return Promise.reject(new Error(SECRET));
          return reply(conn.id);
        }

        @OnMessage()
        order(text: string) {
          if (text === 'throw') throw new Error(SECRET);
          if (text === 'reject') return Promise.reject(Object.assign(new Error(SECRET), { status: 500, expose: true }));
          if (text === 'non-error') throw SECRET;
          // Not a frame: the TypeError names the class and method.
          return 42;
        }

        @OnInfo()
        info() {
          throw new TypeError(SECRET);
        }
      }
      const reasons: string[] = [];
      for (const development of [false, true]) {
        const { app } = await serveGateway(OrdersGateway, { development });
        for (const trigger of ['init', 'throw', 'reject', 'non-error', 'not a frame', 'info']) {
          const client = await app.ws(trigger === 'init' ? '/orders?fail=init' : '/orders');
          if (trigger !== 'init') await client.recv();
          if (trigger === 'info') conns.at(-1)!.info('boom');
          else if (trigger !== 'init') client.sendText(trigger);
          const closed = await client.closed;
          expect(closed, trigger).toEqual({ code: 1011, reason: 'internal error' });
          reasons.push(closed.reason);
        }
        // The details are in the log, for the operator.
        const logged = app.logs.entries.filter((entry) => entry.level === 'error').map((entry) => String((entry.fields.error as Error).message ?? entry.fields.error));
        expect(logged.filter((message) => message.includes('hunter2'))).toHaveLength(5);
        expect(logged).toContainEqual(expect.stringContaining('OrdersGateway.order returned 42'));
      }
      for (const leak of LEAKS) expect(reasons.join('\n')).not.toContain(leak);
    });

    it('29. an upgrade refused by a throwing security has no error text in its body', async () => {
      const bodies = { production: [] as string[], development: [] as string[] };
      for (const development of [false, true]) {
        @WebSocket('/orders', {
          security: (ctx) => {
            if (ctx.query.how === 'reject') return Promise.reject(new Error(SECRET));
            throw new Error(SECRET);
          },
        })
        class OrdersGateway {
          @OnMessage()
          order() {
            return reply(json({}));
          }
        }
        const { app } = await serveGateway(OrdersGateway, { development });
        for (const how of ['throw', 'reject']) {
          for (const accept of ['application/json', 'text/html', '*/*', 'text/plain']) {
            const res = await app.wsRefusal(`/orders?how=${how}`, { headers: { accept } });
            expect(res.status).toBe(500);
            bodies[development ? 'development' : 'production'].push(res.body);
          }
        }
        expect(await connectionCount(app.server)).toBe(0);
      }
      for (const body of bodies.production) {
        expect(body).toMatch(/Internal Server Error/);
        for (const leak of LEAKS) expect(body).not.toContain(leak);
      }
      // The control: in development the same refusals do show the error, so the check above can fail.
      for (const body of bodies.development) expect(body).toContain('hunter2');
    });
  });
});
