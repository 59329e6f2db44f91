// Every misconfiguration is found by bootstrap, before the port opens, with a ConfigError that
// names the class, the member and the fix.
import { describe, expect, it } from 'vitest';
import {
  Controller,
  Injectable,
  InjectionToken,
  Module,
  Route,
  json,
  type HttpMethod,
  type ResultHandler,
  type Security,
} from 'vela';
import { startTestApp } from 'vela/testing';
import { bootError } from './support/boot-error.js';
import { freePort, tryConnect } from './support/ports.js';

describe('routes', () => {
  it('rejects the same method and path declared twice', async () => {
    @Controller({ prefix: '/users' })
    class UsersController {
      @Route('/', { methods: ['get'] })
      index() {
        return json([]);
      }
    }
    @Controller()
    class AdminController {
      @Route('/users', { methods: ['post', 'get'] })
      list() {
        return json([]);
      }
    }
    @Module({ controllers: [UsersController, AdminController] })
    class AppModule {}

    const error = await bootError(AppModule);
    expect(error.message).toBe(
      'Duplicate route GET /users: declared by UsersController.index and AdminController.list. ' +
        'Remove one or change its path or methods.',
    );
  });

  it('rejects two paths that differ only in parameter names', async () => {
    @Controller()
    class ArticlesController {
      @Route('/a/:id')
      show() {
        return json({});
      }
      @Route('/a/:other')
      other() {
        return json({});
      }
    }
    @Module({ controllers: [ArticlesController] })
    class AppModule {}

    const error = await bootError(AppModule);
    expect(error.message).toContain('Duplicate route GET /a/:other: declared by ArticlesController.show and ArticlesController.other.');
  });

  it('accepts the same path with different methods', async () => {
    @Controller()
    class ArticlesController {
      @Route('/a', { methods: ['get'] })
      index() {
        return json('get');
      }
      @Route('/a', { methods: ['post'] })
      create() {
        return json('post');
      }
    }
    @Module({ controllers: [ArticlesController] })
    class AppModule {}

    const app = await startTestApp(AppModule);
    expect(await (await app.http.fetch('/a', { method: 'POST' })).json()).toBe('post');
  });

  it("rejects a path that does not start with '/'", async () => {
    @Controller()
    class UsersController {
      @Route('users')
      index() {
        return json([]);
      }
    }
    @Module({ controllers: [UsersController] })
    class AppModule {}

    const error = await bootError(AppModule);
    expect(error.message).toBe(`UsersController.index: route path "users" must start with '/'.`);
  });

  it('rejects an unknown HTTP method', async () => {
    @Controller()
    class UsersController {
      @Route('/users', { methods: ['get', 'teleport' as HttpMethod] })
      index() {
        return json([]);
      }
    }
    @Module({ controllers: [UsersController] })
    class AppModule {}

    const error = await bootError(AppModule);
    expect(error.message).toBe(
      `UsersController.index: "teleport" is not an HTTP method; use e.g. 'get', 'post', 'put', 'patch', 'delete'.`,
    );
  });

  it('rejects a status route outside 400–599', async () => {
    @Controller()
    class PagesController {
      @Route(200)
      ok() {
        return json({});
      }
    }
    @Module({ controllers: [PagesController] })
    class AppModule {}

    const error = await bootError(AppModule);
    expect(error.message).toBe(
      'PagesController.ok: @Route(200) is not a status route; status routes take an error status from 400 to 599.',
    );
  });

  it('rejects controller security that is neither false nor a function', async () => {
    @Controller({ security: true as unknown as Security })
    class AdminController {
      @Route('/admin')
      index() {
        return json({});
      }
    }
    @Module({ controllers: [AdminController] })
    class AppModule {}

    const error = await bootError(AppModule);
    expect(error.message).toBe(
      'AdminController (@Controller security): security must be false (public) or a function (ctx) => true | false | Result | auth object, got true.',
    );
  });

  it('rejects bad controller security even when the controller has only status routes', async () => {
    @Controller({ security: 'admin' as unknown as Security })
    class PagesController {
      @Route(404)
      notFound() {
        return json({ error: 'not found' });
      }
    }
    @Module({ controllers: [PagesController] })
    class AppModule {}

    const error = await bootError(AppModule);
    expect(error.message).toContain('PagesController (@Controller security): security must be false (public) or a function');
  });

  it('rejects route security that is neither false nor a function', async () => {
    @Controller()
    class AdminController {
      @Route('/admin', { security: 'admin' as unknown as Security })
      index() {
        return json({});
      }
    }
    @Module({ controllers: [AdminController] })
    class AppModule {}

    const error = await bootError(AppModule);
    expect(error.message).toContain('AdminController.index: security must be false (public) or a function');
    expect(error.message).toContain('got admin.');
  });
});

describe('controllers', () => {
  it('rejects a class listed in controllers without @Controller', async () => {
    class UsersController {
      @Route('/users')
      index() {
        return json([]);
      }
    }
    @Module({ controllers: [UsersController] })
    class AppModule {}

    const error = await bootError(AppModule);
    expect(error.message).toBe(
      'UsersController is listed in AppModule.controllers but has no @Controller decorator: add @Controller() to the class.',
    );
  });

  it('rejects a @Controller class listed in providers', async () => {
    @Controller()
    class UsersController {
      @Route('/users')
      index() {
        return json([]);
      }
    }
    @Module({ providers: [UsersController] })
    class AppModule {}

    const error = await bootError(AppModule);
    expect(error.message).toBe(
      'UsersController has @Controller/@Route but is listed in AppModule.providers; move it to AppModule.controllers.',
    );
  });

  it('rejects a class with @Route listed in providers, also through useClass', async () => {
    abstract class Users {}
    class UsersController extends Users {
      @Route('/users')
      index() {
        return json([]);
      }
    }
    @Module({ providers: [{ provide: Users, useClass: UsersController }] })
    class AppModule {}

    const error = await bootError(AppModule);
    expect(error.message).toContain('UsersController has @Controller/@Route but is listed in AppModule.providers');
  });
});

describe('providers', () => {
  it('rejects one token provided with different definitions in two modules', async () => {
    @Injectable()
    class UserStore {}
    @Module({ providers: [{ provide: UserStore, useValue: {} }] })
    class FakesModule {}
    @Module({ imports: [FakesModule], providers: [UserStore] })
    class AppModule {}

    const error = await bootError(AppModule);
    expect(error.message).toBe(
      'UserStore is provided twice with different definitions: useValue in FakesModule.providers and class in AppModule.providers. ' +
        'Keep one, or give each its own InjectionToken.',
    );
  });

  it('accepts the same class listed in two modules, and builds it once', async () => {
    let built = 0;
    @Injectable()
    class UserStore {
      constructor() {
        built++;
      }
    }
    @Module({ providers: [UserStore] })
    class UsersModule {}
    @Module({ imports: [UsersModule], providers: [UserStore] })
    class AppModule {}

    const app = await startTestApp(AppModule);
    expect(app.get(UserStore)).toBeInstanceOf(UserStore);
    expect(built).toBe(1);
  });

  it('rejects a provider that is neither a class nor { provide, use… }', async () => {
    @Module({ providers: [{ useValue: 1 } as never] })
    class AppModule {}

    const error = await bootError(AppModule);
    expect(error.message).toBe(
      'AppModule.providers lists a provider that is neither a class nor { provide, useValue | useClass | useFactory }: {"useValue":1}.',
    );
  });
});

describe('@Module({ handlers })', () => {
  const xml: ResultHandler = (ctx, body: string) => {
    ctx.type = 'xml';
    ctx.body = body;
  };

  it('rejects a tag that is not a valid name', async () => {
    @Module({ handlers: { 'bad tag': xml } })
    class AppModule {}

    const error = await bootError(AppModule);
    expect(error.message).toBe(`AppModule.handlers: result tag "bad tag" is not a valid tag; use a name like 'xml' or 'csv'.`);
  });

  it('rejects a handler that is not a function', async () => {
    @Module({ handlers: { xml: 'render' as unknown as ResultHandler } })
    class AppModule {}

    const error = await bootError(AppModule);
    expect(error.message).toBe(
      `AppModule.handlers: the handler for result tag 'xml' must be a function (ctx, ...payload) => void, got string.`,
    );
  });

  it('rejects a tag that a built-in handler owns', async () => {
    @Module({ handlers: { json: xml } })
    class AppModule {}

    const error = await bootError(AppModule);
    expect(error.message).toBe(
      `AppModule.handlers: result tag 'json' is already registered by Vela (built-in). Pick another tag; handlers are never replaced.`,
    );
  });

  it('rejects a tag that two modules register', async () => {
    @Module({ handlers: { xml } })
    class FeedModule {}
    @Module({ imports: [FeedModule], handlers: { xml: (ctx) => (ctx.body = '') } })
    class AppModule {}

    const error = await bootError(AppModule);
    expect(error.message).toContain(`AppModule.handlers: result tag 'xml' is already registered by FeedModule.handlers.`);
  });
});

describe('the port', () => {
  it('is not opened when validation fails', async () => {
    class NotAController {}
    @Module({ controllers: [NotAController] })
    class AppModule {}
    const port = await freePort();

    await bootError(AppModule, { port });
    expect(await tryConnect(port)).toBe('ECONNREFUSED');
  });

  it('is not opened when a provider cannot be built', async () => {
    const FAIL = new Error('database unreachable');
    const DATABASE = new InjectionToken('DATABASE');
    @Module({ providers: [{ provide: DATABASE, useFactory: () => Promise.reject(FAIL) }] })
    class AppModule {}
    const port = await freePort();

    await expect(startTestApp(AppModule, { port })).rejects.toBe(FAIL);
    expect(await tryConnect(port)).toBe('ECONNREFUSED');
  });
});
