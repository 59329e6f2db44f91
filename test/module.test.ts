// @Module trees: what imports bring into an app, and how a broken tree is reported.
import { describe, expect, it } from 'vitest';
import { Controller, Injectable, Module, Route, json, type Class, type Context } from 'vela';
import { startTestApp } from 'vela/testing';
import { bootError } from './support/boot-error.js';

describe('@Module({ imports })', () => {
  it('serves the controllers of imported modules', async () => {
    @Controller({ prefix: '/users' })
    class UsersController {
      @Route('/')
      index() {
        return json(['ada']);
      }
    }
    @Module({ controllers: [UsersController] })
    class UsersModule {}
    @Module({ imports: [UsersModule] })
    class AppModule {}

    const app = await startTestApp(AppModule);
    const res = await app.http.fetch('/users');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(['ada']);
  });

  it('makes the providers of imported modules injectable in the importer', async () => {
    @Injectable()
    class UserStore {
      all() {
        return ['ada'];
      }
    }
    @Module({ providers: [UserStore] })
    class StoreModule {}
    @Controller()
    class UsersController {
      constructor(private readonly users: UserStore) {}
      @Route('/users')
      index() {
        return json(this.users.all());
      }
    }
    @Module({ imports: [StoreModule], controllers: [UsersController] })
    class AppModule {}

    const app = await startTestApp(AppModule);
    expect(await (await app.http.fetch('/users')).json()).toEqual(['ada']);
    expect(app.get(UserStore)).toBeInstanceOf(UserStore);
  });

  it('registers the result handlers of imported modules', async () => {
    const csv = (ctx: Context, rows: string[][]) => {
      ctx.type = 'text/csv';
      ctx.body = rows.map((r) => r.join(',')).join('\n');
    };
    @Module({ handlers: { csv } })
    class CsvModule {}
    @Controller()
    class ReportController {
      @Route('/report')
      report() {
        return ['csv', [['a', 'b']]];
      }
    }
    @Module({ imports: [CsvModule], controllers: [ReportController] })
    class AppModule {}

    const app = await startTestApp(AppModule);
    const res = await app.http.fetch('/report');
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(await res.text()).toBe('a,b');
  });

  it('loads a module imported twice (a diamond) once', async () => {
    let built = 0;
    @Injectable()
    class Clock {
      constructor() {
        built++;
      }
    }
    @Controller()
    class HealthController {
      @Route('/health')
      health() {
        return ['text', 'ok'];
      }
    }
    // A second load would register 'text' again, which is an error, and declare /health twice.
    const text = (ctx: Context, body: string) => {
      ctx.body = body;
    };
    @Module({ controllers: [HealthController], providers: [Clock], handlers: { text } })
    class SharedModule {}
    @Module({ imports: [SharedModule] })
    class LeftModule {}
    @Module({ imports: [SharedModule] })
    class RightModule {}
    @Module({ imports: [LeftModule, RightModule] })
    class AppModule {}

    const app = await startTestApp(AppModule);
    expect(await (await app.http.fetch('/health')).text()).toBe('ok');
    expect(built).toBe(1);
  });

  it('rejects an import that is not a @Module class, naming the path', async () => {
    class NotAModule {}
    @Module({ imports: [NotAModule] })
    class UsersModule {}
    @Module({ imports: [UsersModule] })
    class AppModule {}

    const error = await bootError(AppModule);
    expect(error.message).toBe('AppModule → UsersModule → NotAModule is not a module: decorate NotAModule with @Module({ … }).');
  });

  it('rejects an undefined import and points at a circular import between files', async () => {
    // What `imports: [UsersModule]` holds when users.module.ts and app.module.ts import each other.
    const circular = undefined as unknown as Class;
    @Module({ imports: [circular] })
    class UsersModule {}
    @Module({ imports: [UsersModule] })
    class AppModule {}

    const error = await bootError(AppModule);
    expect(error.message).toBe(
      'AppModule → UsersModule imports undefined, which is not a module class. ' +
        'An undefined import usually means a circular import between files.',
    );
  });
});

describe('bootstrap(root)', () => {
  it('rejects a root class without @Module', async () => {
    class AppModule {}

    const error = await bootError(AppModule);
    expect(error.message).toBe('AppModule is not a module: decorate AppModule with @Module({ … }).');
  });

  it('accepts an empty module and answers 404', async () => {
    @Module()
    class AppModule {}

    const app = await startTestApp(AppModule);
    expect((await app.http.fetch('/')).status).toBe(404);
  });
});
