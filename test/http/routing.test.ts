// Routing: how @Controller prefixes and @Route paths and methods become answers (and 404/405).
import { describe, expect, it } from 'vitest';
import { Controller, Module, Route, json, type Context, type Middleware } from 'vela';
import { startTestApp } from 'vela/testing';

describe('@Route(path)', () => {
  /** `/ping`, GET only: the route the default-method and 404 cases read. */
  @Controller()
  class PingController {
    @Route('/ping')
    ping() {
      return json({ pong: true });
    }
  }
  @Module({ controllers: [PingController] })
  class PingModule {}

  it('passes path parameters as ctx.params', async () => {
    @Controller()
    class UsersController {
      @Route('/users/:id/posts/:postId')
      show(ctx: Context) {
        return json({ id: ctx.params.id, postId: ctx.params.postId });
      }
    }
    @Module({ controllers: [UsersController] })
    class AppModule {}
    const app = await startTestApp(AppModule);

    const res = await app.http.fetch('/users/42/posts/7');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id: '42', postId: '7' });
  });

  it('decodes percent-encoded path parameters', async () => {
    @Controller()
    class FilesController {
      @Route('/files/:name')
      show(ctx: Context) {
        return json({ name: ctx.params.name });
      }
    }
    @Module({ controllers: [FilesController] })
    class AppModule {}
    const app = await startTestApp(AppModule);

    const res = await app.http.fetch('/files/a%20b');
    expect(await res.json()).toEqual({ name: 'a b' });
  });

  it('answers GET by default, and HEAD for every GET route', async () => {
    const app = await startTestApp(PingModule);

    const get = await app.http.fetch('/ping');
    expect(get.status).toBe(200);
    expect(await get.text()).toBe('{"pong":true}');

    const head = await app.http.fetch('/ping', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(head.headers.get('content-length')).toBe('13');
    expect(await head.text()).toBe('');

    const post = await app.http.fetch('/ping', { method: 'POST' });
    expect(post.status).toBe(405);
  });

  it('takes several methods on one route, in any case', async () => {
    @Controller()
    class ItemsController {
      @Route('/items', { methods: ['put', 'PATCH', 'delete'] })
      change(ctx: Context) {
        return json({ method: ctx.method });
      }
    }
    @Module({ controllers: [ItemsController] })
    class AppModule {}
    const app = await startTestApp(AppModule);

    for (const method of ['PUT', 'PATCH', 'DELETE']) {
      const res = await app.http.fetch('/items', { method });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ method });
    }
    expect((await app.http.fetch('/items')).status).toBe(405);
  });

  it('answers 404 for a path no route matches', async () => {
    const app = await startTestApp(PingModule);

    const res = await app.http.fetch('/pong');
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'Not Found', status: 404 });
  });
});

describe('@Controller({ prefix })', () => {
  @Controller({ prefix: '/api' })
  class ApiController {
    @Route('/')
    root() {
      return json({ at: 'root' });
    }

    @Route('/users')
    users() {
      return json({ at: 'users' });
    }
  }
  @Module({ controllers: [ApiController] })
  class AppModule {}

  it('prepends the prefix to every route path', async () => {
    const app = await startTestApp(AppModule);

    const res = await app.http.fetch('/api/users');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ at: 'users' });
    expect((await app.http.fetch('/users')).status).toBe(404);
  });

  it("maps the route '/' to the prefix itself", async () => {
    const app = await startTestApp(AppModule);

    const res = await app.http.fetch('/api');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ at: 'root' });
    expect((await app.http.fetch('/')).status).toBe(404);
  });

  it('ignores a trailing slash on the prefix', async () => {
    @Controller({ prefix: '/v2/' })
    class V2Controller {
      @Route('/users')
      users() {
        return json({ v: 2 });
      }
    }
    @Module({ controllers: [V2Controller] })
    class V2Module {}
    const app = await startTestApp(V2Module);

    const res = await app.http.fetch('/v2/users');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ v: 2 });
  });
});

describe('route specificity', () => {
  it('prefers a static segment to a parameter declared before it', async () => {
    @Controller()
    class NotesController {
      @Route('/notes/:id')
      show(ctx: Context) {
        return json({ route: 'show', id: ctx.params.id });
      }

      @Route('/notes/new')
      form() {
        return json({ route: 'new' });
      }
    }
    @Module({ controllers: [NotesController] })
    class AppModule {}
    const app = await startTestApp(AppModule);

    expect(await (await app.http.fetch('/notes/new')).json()).toEqual({ route: 'new' });
    expect(await (await app.http.fetch('/notes/5')).json()).toEqual({ route: 'show', id: '5' });
  });

  it('prefers a static segment across controllers, whatever the module order', async () => {
    @Controller()
    class NoteByIdController {
      @Route('/notes/:id')
      show(ctx: Context) {
        return json({ route: 'show', id: ctx.params.id });
      }
    }
    @Controller()
    class NewNoteController {
      @Route('/notes/new')
      form() {
        return json({ route: 'new' });
      }
    }
    @Module({ controllers: [NoteByIdController, NewNoteController] })
    class AppModule {}
    const app = await startTestApp(AppModule);

    expect(await (await app.http.fetch('/notes/new')).json()).toEqual({ route: 'new' });
    expect(await (await app.http.fetch('/notes/9')).json()).toEqual({ route: 'show', id: '9' });
  });

  it('compares segment by segment: /:a/static beats /:a/:b', async () => {
    @Controller()
    class NestedController {
      @Route('/:owner/:repo')
      repo(ctx: Context) {
        return json({ route: 'repo', owner: ctx.params.owner, repo: ctx.params.repo });
      }

      @Route('/:owner/settings')
      settings(ctx: Context) {
        return json({ route: 'settings', owner: ctx.params.owner });
      }
    }
    @Module({ controllers: [NestedController] })
    class AppModule {}
    const app = await startTestApp(AppModule);

    expect(await (await app.http.fetch('/ada/settings')).json()).toEqual({ route: 'settings', owner: 'ada' });
    expect(await (await app.http.fetch('/ada/vela')).json()).toEqual({ route: 'repo', owner: 'ada', repo: 'vela' });
  });
});

describe('405 Method Not Allowed', () => {
  it('answers a known path with the wrong method with 405 and an Allow header', async () => {
    @Controller()
    class UsersController {
      @Route('/users')
      index() {
        return json([]);
      }

      @Route('/users', { methods: ['post'] })
      create() {
        return json({});
      }
    }
    @Module({ controllers: [UsersController] })
    class AppModule {}
    const app = await startTestApp(AppModule);

    const res = await app.http.fetch('/users', { method: 'DELETE' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')?.split(', ').sort()).toEqual(['GET', 'HEAD', 'POST']);
    expect(await res.json()).toEqual({ error: 'Method Not Allowed', status: 405 });
  });
});

describe('@Controller({ middleware })', () => {
  it("runs the group's middleware for its own routes only, before security", async () => {
    const calls: string[] = [];
    const tag: Middleware = async (ctx, next) => {
      calls.push(`middleware ${ctx.path}`);
      ctx.state.tagged = true;
      await next();
      ctx.set('X-Group', 'admin');
    };
    const security = (ctx: Context) => {
      calls.push(`security tagged=${String(ctx.state.tagged)}`);
      return true;
    };

    @Controller({ prefix: '/admin', middleware: [tag], security })
    class AdminController {
      @Route('/stats')
      stats(ctx: Context) {
        calls.push('controller');
        return json({ tagged: ctx.state.tagged === true });
      }
    }
    @Controller()
    class PublicController {
      @Route('/hello')
      hello(ctx: Context) {
        calls.push('public');
        return json({ tagged: ctx.state.tagged === true });
      }
    }
    @Module({ controllers: [AdminController, PublicController] })
    class AppModule {}
    const app = await startTestApp(AppModule);

    const admin = await app.http.fetch('/admin/stats');
    expect(admin.status).toBe(200);
    expect(admin.headers.get('x-group')).toBe('admin');
    expect(await admin.json()).toEqual({ tagged: true });
    expect(calls).toEqual(['middleware /admin/stats', 'security tagged=true', 'controller']);

    calls.length = 0;
    const open = await app.http.fetch('/hello');
    expect(open.headers.get('x-group')).toBeNull();
    expect(await open.json()).toEqual({ tagged: false });
    expect(calls).toEqual(['public']);
  });

  it('does not run for a request no route of the group matches', async () => {
    const calls: string[] = [];
    const tag: Middleware = async (ctx, next) => {
      calls.push(ctx.path);
      await next();
    };
    @Controller({ prefix: '/admin', middleware: [tag] })
    class AdminController {
      @Route('/stats')
      stats() {
        return json({});
      }
    }
    @Module({ controllers: [AdminController] })
    class AppModule {}
    const app = await startTestApp(AppModule);

    expect((await app.http.fetch('/admin/missing')).status).toBe(404);
    expect(calls).toEqual([]);
  });
});
