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
  type Class,
  type ControllerOptions,
  type HttpMethod,
  type RouteOptions,
  type ResultHandler,
  type Security,
} from 'vela';
import { startTestApp } from 'vela/testing';
import { bootError } from './support/boot-error.js';
import { freePort, tryConnect } from './support/ports.js';

/**
 * The root module of an app whose one controller, named `name`, has one route: `handler` at `path`.
 * Built by hand, decorators applied in the order TypeScript applies them, because the class and
 * handler names are what the error messages under test name.
 */
function oneRouteApp(
  name: string,
  route: { handler: string; path: string | number; options?: RouteOptions },
  controller: ControllerOptions = {},
): Class {
  const target = {
    [name]: class {
      [route.handler]() {
        return json({});
      }
    },
  }[name]!;
  const handler = Object.getOwnPropertyDescriptor(target.prototype, route.handler)!;
  Route(route.path, route.options)(target.prototype, route.handler, handler);
  Controller(controller)(target);
  @Module({ controllers: [target] })
  class AppModule {}
  return AppModule;
}

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
    const error = await bootError(oneRouteApp('UsersController', { handler: 'index', path: 'users' }));
    expect(error.message).toBe(`UsersController.index: route path "users" must start with '/'.`);
  });

  it('rejects an unknown HTTP method', async () => {
    const error = await bootError(
      oneRouteApp('UsersController', {
        handler: 'index',
        path: '/users',
        options: { methods: ['get', 'teleport' as HttpMethod] },
      }),
    );
    expect(error.message).toBe(
      `UsersController.index: "teleport" is not an HTTP method; use e.g. 'get', 'post', 'put', 'patch', 'delete'.`,
    );
  });

  it('rejects a status route outside 400–599', async () => {
    const error = await bootError(oneRouteApp('PagesController', { handler: 'ok', path: 200 }));
    expect(error.message).toBe(
      'PagesController.ok: @Route(200) is not a status route; status routes take an error status from 400 to 599.',
    );
  });

  it('rejects controller security that is neither false nor a function', async () => {
    const error = await bootError(
      oneRouteApp('AdminController', { handler: 'index', path: '/admin' }, { security: true as unknown as Security }),
    );
    expect(error.message).toBe(
      'AdminController (@Controller security): security must be false (public) or a function (ctx) => true | false | Result | auth object, got true.',
    );
  });

  it('rejects bad controller security even when the controller has only status routes', async () => {
    const error = await bootError(
      oneRouteApp('PagesController', { handler: 'notFound', path: 404 }, { security: 'admin' as unknown as Security }),
    );
    expect(error.message).toContain('PagesController (@Controller security): security must be false (public) or a function');
  });

  it('rejects route security that is neither false nor a function', async () => {
    const error = await bootError(
      oneRouteApp('AdminController', {
        handler: 'index',
        path: '/admin',
        options: { security: 'admin' as unknown as Security },
      }),
    );
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
