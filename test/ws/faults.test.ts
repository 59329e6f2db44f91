// When a gateway callback fails (throws, rejects, returns what no one can send) only its socket
// closes, with 1011, and the log says which callback of which connection; a @FallbackController
// may first turn an unexpected return into a reply.
import { describe, expect, it } from 'vitest';
import {
  Connection,
  FallbackController,
  Module,
  OnInfo,
  OnMessage,
  WebSocket,
  reply,
  stop,
  type Class,
  type Fallback,
} from 'vela';
import { startTestApp, type LogEntry, type TestApp, type TestSocket } from 'vela/testing';
import { deferred } from '../support/deferred.js';

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
    await expect(client.recv()).rejects.toThrow('closed (1011 internal error) before the next message');
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
