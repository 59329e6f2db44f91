// Fallback controllers: what resolves a controller's return value that no result handler claims.
import { describe, expect, it } from 'vitest';
import {
  Controller,
  FallbackController,
  Injectable,
  Module,
  Route,
  json,
  status,
  type Context,
  type Fallback,
} from 'vela';
import { startTestApp } from 'vela/testing';
import { expectOneFailedRequest } from '../support/failure-log.js';

/** The fallback of API.md: `['error', reason]` becomes a 404 with the reason. */
class ApiFallback implements Fallback {
  resolve(_ctx: Context, returned: unknown) {
    if (Array.isArray(returned) && returned[0] === 'error') return status(404, { body: { error: returned[1] } });
    return status(500);
  }
}

/** Records every value it is asked to resolve, and answers 200 with a marker. */
class RecordingFallback implements Fallback {
  static seen: unknown[] = [];
  resolve(ctx: Context, returned: unknown) {
    RecordingFallback.seen.push(returned);
    return json({ resolvedBy: 'RecordingFallback', path: ctx.path });
  }
}

describe('@FallbackController on a controller', () => {
  it("resolves ['error', 'not_found'] to the fallback's 404", async () => {
    @Controller({ prefix: '/api' })
    @FallbackController(ApiFallback)
    class UsersController {
      @Route('/users/:id')
      show(ctx: Context) {
        return ctx.params.id === '1' ? json({ id: 1 }) : ['error', 'not_found'];
      }
    }
    @Module({ controllers: [UsersController] })
    class AppModule {}
    const app = await startTestApp(AppModule);

    const found = await app.http.fetch('/api/users/1');
    expect(found.status).toBe(200);
    expect(await found.json()).toEqual({ id: 1 });

    const missing = await app.http.fetch('/api/users/2');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await missing.json()).toEqual({ error: 'not_found' });
    expect(app.logs.entries).toEqual([]);
  });

  it('receives exactly what the controller returned: undefined, a bare value, an unknown tag', async () => {
    const object = { some: 'object' };
    const unknownTag = ['nope', 1, 2] as const;
    const returns: Record<string, unknown> = { undefined: undefined, number: 42, object, tag: unknownTag, empty: [] };

    @Controller()
    @FallbackController(RecordingFallback)
    class OddController {
      @Route('/odd/:kind')
      odd(ctx: Context) {
        return returns[ctx.params.kind!];
      }
    }
    @Module({ controllers: [OddController] })
    class AppModule {}
    const app = await startTestApp(AppModule);
    RecordingFallback.seen = [];

    for (const kind of ['undefined', 'number', 'object', 'tag', 'empty']) {
      const res = await app.http.fetch(`/odd/${kind}`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ resolvedBy: 'RecordingFallback', path: `/odd/${kind}` });
    }
    expect(RecordingFallback.seen).toHaveLength(5);
    expect(RecordingFallback.seen[0]).toBeUndefined();
    expect(RecordingFallback.seen[1]).toBe(42);
    expect(RecordingFallback.seen[2]).toBe(object);
    expect(RecordingFallback.seen[3]).toBe(unknownTag);
    expect(RecordingFallback.seen[4]).toEqual([]);
  });

  it('is not consulted for a result a handler claims', async () => {
    @Controller()
    @FallbackController(RecordingFallback)
    class FineController {
      @Route('/fine')
      fine() {
        return status(204);
      }
    }
    @Module({ controllers: [FineController] })
    class AppModule {}
    const app = await startTestApp(AppModule);
    RecordingFallback.seen = [];

    expect((await app.http.fetch('/fine')).status).toBe(204);
    expect(RecordingFallback.seen).toEqual([]);
  });

  it('may resolve asynchronously', async () => {
    class AsyncFallback implements Fallback {
      async resolve(_ctx: Context, returned: unknown) {
        await Promise.resolve();
        return json({ late: returned }, { status: 409 });
      }
    }
    @Controller()
    @FallbackController(AsyncFallback)
    class ConflictController {
      @Route('/conflict')
      conflict() {
        return 'taken';
      }
    }
    @Module({ controllers: [ConflictController] })
    class AppModule {}
    const app = await startTestApp(AppModule);

    const res = await app.http.fetch('/conflict');
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual({ late: 'taken' });
  });

  it('is built by DI, with its constructor dependencies injected', async () => {
    class Messages {
      notFound(what: string) {
        return `no such ${what}`;
      }
    }
    @Injectable()
    class MessagesFallback implements Fallback {
      constructor(private readonly messages: Messages) {}
      resolve(_ctx: Context, returned: unknown) {
        return status(404, { body: { error: this.messages.notFound(String(returned)) } });
      }
    }
    @Controller()
    @FallbackController(MessagesFallback)
    class PostsController {
      @Route('/posts/:id')
      show() {
        return 'post';
      }
    }
    @Module({ controllers: [PostsController], providers: [Messages] })
    class AppModule {}
    const app = await startTestApp(AppModule);

    const res = await app.http.fetch('/posts/1');
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'no such post' });
    expect(app.get(MessagesFallback)).toBeInstanceOf(MessagesFallback);
  });

  it('fails bootstrap when the fallback has no resolve method', async () => {
    class NotAFallback {}
    @Controller()
    @FallbackController(NotAFallback as never)
    class PostsController {
      @Route('/posts')
      index() {
        return json([]);
      }
    }
    @Module({ controllers: [PostsController] })
    class AppModule {}

    await expect(startTestApp(AppModule)).rejects.toThrow(
      'The @FallbackController of PostsController must be a class with a resolve(ctx, returned) method.',
    );
  });
});

describe('@FallbackController on a module', () => {
  class ModuleFallback implements Fallback {
    resolve(_ctx: Context, returned: unknown) {
      return json({ by: 'module', returned }, { status: 418 });
    }
  }
  class OwnFallback implements Fallback {
    resolve(_ctx: Context, returned: unknown) {
      return json({ by: 'own', returned }, { status: 410 });
    }
  }

  it("applies to all the module's controllers", async () => {
    @Controller()
    class AController {
      @Route('/a')
      a() {
        return 'a';
      }
    }
    @Controller()
    class BController {
      @Route('/b')
      b() {
        return 'b';
      }
    }
    @FallbackController(ModuleFallback)
    @Module({ controllers: [AController, BController] })
    class AppModule {}
    const app = await startTestApp(AppModule);

    const a = await app.http.fetch('/a');
    expect(a.status).toBe(418);
    expect(await a.json()).toEqual({ by: 'module', returned: 'a' });
    const b = await app.http.fetch('/b');
    expect(b.status).toBe(418);
    expect(await b.json()).toEqual({ by: 'module', returned: 'b' });
  });

  it("yields to a controller's own fallback", async () => {
    @Controller()
    class PlainController {
      @Route('/plain')
      plain() {
        return 'plain';
      }
    }
    @Controller()
    @FallbackController(OwnFallback)
    class OwnController {
      @Route('/own')
      own() {
        return 'own';
      }
    }
    @FallbackController(ModuleFallback)
    @Module({ controllers: [PlainController, OwnController] })
    class AppModule {}
    const app = await startTestApp(AppModule);

    const own = await app.http.fetch('/own');
    expect(own.status).toBe(410);
    expect(await own.json()).toEqual({ by: 'own', returned: 'own' });
    const plain = await app.http.fetch('/plain');
    expect(plain.status).toBe(418);
    expect(await plain.json()).toEqual({ by: 'module', returned: 'plain' });
  });

  it('does not reach the controllers of an imported module', async () => {
    @Controller()
    class InnerController {
      @Route('/inner')
      inner() {
        return 'inner';
      }
    }
    @Module({ controllers: [InnerController] })
    class InnerModule {}
    @FallbackController(ModuleFallback)
    @Module({ imports: [InnerModule] })
    class AppModule {}
    const app = await startTestApp(AppModule);

    const res = await app.http.fetch('/inner');
    expect(res.status).toBe(500);
    expect(app.logs.entries).toHaveLength(1);
    expect(app.logs.entries[0]!.fields.controller).toBe('InnerController.inner');
  });
});

describe('a return nothing resolves', () => {
  it('answers 500 and logs once, naming the fallback and the controller, when the fallback returns nothing claimed', async () => {
    class LazyFallback implements Fallback {
      resolve() {
        return ['still', 'unknown'];
      }
    }
    @Controller()
    @FallbackController(LazyFallback)
    class UsersController {
      @Route('/users/:id')
      show() {
        return ['error', 'not_found'];
      }
    }
    @Module({ controllers: [UsersController] })
    class AppModule {}
    const app = await startTestApp(AppModule);

    const res = await app.http.fetch('/users/1');
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: 'Internal Server Error', status: 500 });
    expect(app.logs.entries).toHaveLength(1);
    const [entry] = app.logs.entries;
    expect(entry).toMatchObject({
      level: 'error',
      message: 'request failed',
      fields: { method: 'GET', path: '/users/1', status: 500, controller: 'UsersController.show' },
    });
    expect((entry!.fields.error as Error).message).toBe(
      "LazyFallback.resolve returned [ 'still', 'unknown' ] for what UsersController.show returned ([ 'error', 'not_found' ]); " +
        'a fallback must return a result that a handler claims, such as status(404).',
    );
  });

  it('answers 500 and logs Controller.method when there is no fallback', async () => {
    @Controller()
    class UsersController {
      @Route('/users')
      index() {
        return undefined;
      }
    }
    @Module({ controllers: [UsersController] })
    class AppModule {}
    const app = await startTestApp(AppModule);

    const res = await app.http.fetch('/users');
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: 'Internal Server Error', status: 500 });
    expectOneFailedRequest(app.logs, {
      path: '/users',
      controller: 'UsersController.index',
      error:
        'UsersController.index returned undefined, which no result handler claims. ' +
        'Return a result (json, status, redirect, sendfile, ok, view), register a handler for its tag, ' +
        'or add a @FallbackController to UsersController or its module.',
    });
  });

  it('answers 500 when the fallback throws, logged with the controller', async () => {
    class ThrowingFallback implements Fallback {
      resolve(): never {
        throw new Error('fallback broke');
      }
    }
    @Controller()
    @FallbackController(ThrowingFallback)
    class UsersController {
      @Route('/users')
      index() {
        return 'nothing';
      }
    }
    @Module({ controllers: [UsersController] })
    class AppModule {}
    const app = await startTestApp(AppModule);

    const res = await app.http.fetch('/users');
    expect(res.status).toBe(500);
    expect(app.logs.entries).toHaveLength(1);
    expect(app.logs.entries[0]).toMatchObject({ level: 'error', fields: { controller: 'UsersController.index' } });
    expect((app.logs.entries[0]!.fields.error as Error).message).toBe('fallback broke');
  });
});
