// Security functions: Nova's per-group (and per-route) gate, and what each of its answers means.
import { describe, expect, it } from 'vitest';
import { Controller, HttpError, Module, Route, json, redirect, status, type Context, type Security } from 'vela';
import { startTestApp } from 'vela/testing';
import { expectOneFailedRequest } from '../support/failure-log.js';

/** A controller guarded by `security`, with `/guarded` echoing `ctx.state.auth`. */
async function guard(security: Security) {
  @Controller({ security })
  class GuardedController {
    @Route('/guarded', { methods: ['get', 'post'] })
    guarded(ctx: Context) {
      return json({ auth: ctx.state.auth ?? null });
    }
  }
  @Module({ controllers: [GuardedController] })
  class AppModule {}
  return startTestApp(AppModule);
}

describe('a security function', () => {
  it('continues on true', async () => {
    const app = await guard(() => true);

    const res = await app.http.fetch('/guarded');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ auth: null });
  });

  it('answers 401 on false, without running the controller', async () => {
    let ran = false;
    @Controller({ security: () => false })
    class GuardedController {
      @Route('/guarded')
      guarded() {
        ran = true;
        return json({});
      }
    }
    @Module({ controllers: [GuardedController] })
    class AppModule {}
    const app = await startTestApp(AppModule);

    const res = await app.http.fetch('/guarded');
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: 'Unauthorized', status: 401 });
    expect(ran).toBe(false);
  });

  it('sends a Result as it is: redirect', async () => {
    const app = await guard(() => redirect('/login'));

    const res = await app.http.fetch('/guarded', { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/login');
  });

  it('sends a Result as it is: status with a body', async () => {
    const app = await guard(() => status(403, { body: { error: 'forbidden' } }));

    const res = await app.http.fetch('/guarded');
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await res.text()).toBe('{"error":"forbidden"}');
  });

  it('sends a Result as it is: a tuple literal', async () => {
    const app = await guard(() => ['json', { denied: true }, { status: 429, headers: { 'Retry-After': '1' } }]);

    const res = await app.http.fetch('/guarded');
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(await res.json()).toEqual({ denied: true });
  });

  it('continues on any other object, which becomes ctx.state.auth', async () => {
    const app = await guard(() => ({ user: 'ada', roles: ['admin'] }));

    const res = await app.http.fetch('/guarded');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ auth: { user: 'ada', roles: ['admin'] } });
  });

  it('may return a Promise of any of these', async () => {
    const app = await guard(async (ctx) => {
      await Promise.resolve();
      const token = ctx.get('authorization');
      if (token === 'Bearer ada') return { user: 'ada' };
      if (token === '') return redirect('/login');
      return false;
    });

    const ok = await app.http.fetch('/guarded', { headers: { authorization: 'Bearer ada' } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ auth: { user: 'ada' } });

    const anonymous = await app.http.fetch('/guarded', { redirect: 'manual' });
    expect(anonymous.status).toBe(302);
    expect(anonymous.headers.get('location')).toBe('/login');

    const wrong = await app.http.fetch('/guarded', { headers: { authorization: 'Bearer eve' } });
    expect(wrong.status).toBe(401);
  });

  it('sees the parsed body and the route params', async () => {
    const seen: unknown[] = [];
    @Controller({
      security: (ctx) => {
        seen.push({ body: ctx.request.body, params: { ...ctx.params } });
        return (ctx.request.body as { token?: string }).token === `owner-of-${ctx.params.id}`;
      },
    })
    class DocsController {
      @Route('/docs/:id', { methods: ['post'] })
      update(ctx: Context) {
        return json({ updated: ctx.params.id });
      }
    }
    @Module({ controllers: [DocsController] })
    class AppModule {}
    const app = await startTestApp(AppModule);

    const post = (token: string) =>
      app.http.fetch('/docs/7', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });

    const allowed = await post('owner-of-7');
    expect(allowed.status).toBe(201);
    expect(await allowed.json()).toEqual({ updated: '7' });
    expect((await post('owner-of-8')).status).toBe(401);
    expect(seen).toEqual([
      { body: { token: 'owner-of-7' }, params: { id: '7' } },
      { body: { token: 'owner-of-8' }, params: { id: '7' } },
    ]);
  });

  it('runs once per request', async () => {
    let calls = 0;
    const app = await guard(() => {
      calls += 1;
      return true;
    });

    await app.http.fetch('/guarded');
    await app.http.fetch('/guarded', { method: 'POST' });
    expect(calls).toBe(2);
  });
});

describe('a failing security function', () => {
  it('answers 500 when it throws, logged with the controller', async () => {
    const app = await guard(() => {
      throw new Error('session store down');
    });

    const res = await app.http.fetch('/guarded');
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: 'Internal Server Error', status: 500 });
    expectOneFailedRequest(app.logs, {
      path: '/guarded',
      controller: 'GuardedController.guarded',
      error: 'session store down',
    });
  });

  it('answers 500 when its promise rejects, logged with the controller', async () => {
    const app = await guard(async () => {
      await Promise.resolve();
      throw new Error('token service timeout');
    });

    const res = await app.http.fetch('/guarded');
    expect(res.status).toBe(500);
    expect(app.logs.entries).toHaveLength(1);
    expect(app.logs.entries[0]).toMatchObject({ level: 'error', fields: { controller: 'GuardedController.guarded' } });
    expect((app.logs.entries[0]!.fields.error as Error).message).toBe('token service timeout');
  });

  it('fails closed with 500 when it returns undefined, and the log says what to return', async () => {
    function requireUser(): never {
      return undefined as never;
    }
    const app = await guard(requireUser);

    const res = await app.http.fetch('/guarded');
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: 'Internal Server Error', status: 500 });
    expect(app.logs.entries).toHaveLength(1);
    expect(app.logs.entries[0]).toMatchObject({ level: 'error', fields: { controller: 'GuardedController.guarded' } });
    expect((app.logs.entries[0]!.fields.error as Error).message).toBe(
      "Security function requireUser returned undefined; return true, false, a Result such as redirect('/login'), or an object to use as ctx.state.auth.",
    );
  });

  it('fails closed on other non-answers: a string, a number, null', async () => {
    for (const answer of ['yes', 1, null]) {
      const app = await guard(() => answer as never);
      const res = await app.http.fetch('/guarded');
      expect(res.status).toBe(500);
      expect((app.logs.entries[0]!.fields.error as Error).message).toMatch(/^Security function \S+ returned /);
    }
  });

  it('lets a thrown HttpError choose the status', async () => {
    const app = await guard(() => {
      throw new HttpError(403, 'suspended account');
    });

    const res = await app.http.fetch('/guarded');
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ error: 'suspended account', status: 403 });
  });
});

describe('@Route({ security })', () => {
  it("overrides the group's security function", async () => {
    @Controller({ prefix: '/admin', security: () => false })
    class AdminController {
      @Route('/locked')
      locked() {
        return json({ locked: false });
      }

      @Route('/login', { security: false })
      login() {
        return json({ public: true });
      }

      @Route('/me', { security: () => ({ user: 'route-level' }) })
      me(ctx: Context) {
        return json(ctx.state.auth);
      }
    }
    @Module({ controllers: [AdminController] })
    class AppModule {}
    const app = await startTestApp(AppModule);

    expect((await app.http.fetch('/admin/locked')).status).toBe(401);

    const login = await app.http.fetch('/admin/login');
    expect(login.status).toBe(200);
    expect(await login.json()).toEqual({ public: true });

    const me = await app.http.fetch('/admin/me');
    expect(me.status).toBe(200);
    expect(await me.json()).toEqual({ user: 'route-level' });
  });

  it('can protect one route of a public group', async () => {
    @Controller()
    class PostsController {
      @Route('/posts')
      index() {
        return json([]);
      }

      @Route('/posts', { methods: ['post'], security: () => false })
      create() {
        return json({});
      }
    }
    @Module({ controllers: [PostsController] })
    class AppModule {}
    const app = await startTestApp(AppModule);

    expect((await app.http.fetch('/posts')).status).toBe(200);
    expect((await app.http.fetch('/posts', { method: 'POST' })).status).toBe(401);
  });

  it('fails bootstrap on a security that is neither false nor a function', async () => {
    @Controller()
    class PostsController {
      @Route('/posts', { security: true as never })
      index() {
        return json([]);
      }
    }
    @Module({ controllers: [PostsController] })
    class AppModule {}

    await expect(startTestApp(AppModule)).rejects.toThrow(
      'PostsController.index: security must be false (public) or a function (ctx) => true | false | Result | auth object, got true.',
    );
  });
});
