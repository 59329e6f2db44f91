// The DI container as users meet it: providers listed in @Module, built once at bootstrap, and
// errors that name the dependency path and the fix.
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  Controller,
  Inject,
  Injectable,
  InjectionToken,
  Module,
  Route,
  json,
  type Class,
} from 'vela';
import { startTestApp } from 'vela/testing';
import { bootError } from '../support/boot-error.js';

interface Database {
  query(sql: string): string[];
}

describe('providers', () => {
  describe('a class', () => {
    it('is built with its constructor parameters injected', async () => {
      @Injectable()
      class Clock {
        now() {
          return 42;
        }
      }
      @Injectable()
      class Greeter {
        constructor(readonly clock: Clock) {}
      }
      @Module({ providers: [Greeter, Clock] })
      class AppModule {}

      const app = await startTestApp(AppModule);
      const greeter = app.get(Greeter);
      expect(greeter).toBeInstanceOf(Greeter);
      expect(greeter.clock).toBe(app.get(Clock));
      expect(greeter.clock.now()).toBe(42);
    });

    it('is injected into a controller that serves it', async () => {
      @Injectable()
      class UserStore {
        all() {
          return [{ id: 1 }];
        }
      }
      @Controller()
      class UsersController {
        constructor(private readonly users: UserStore) {}
        @Route('/users')
        index() {
          return json(this.users.all());
        }
      }
      @Module({ controllers: [UsersController], providers: [UserStore] })
      class AppModule {}

      const app = await startTestApp(AppModule);
      const res = await app.http.fetch('/users');
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual([{ id: 1 }]);
    });
  });

  describe('{ provide, useValue }', () => {
    it('injects the value as given', async () => {
      const config = { name: 'vela' };
      const CONFIG = new InjectionToken<{ name: string }>('CONFIG');
      @Injectable()
      class Service {
        constructor(@Inject(CONFIG) readonly config: { name: string }) {}
      }
      @Module({ providers: [Service, { provide: CONFIG, useValue: config }] })
      class AppModule {}

      const app = await startTestApp(AppModule);
      expect(app.get(Service).config).toBe(config);
      expect(app.get(CONFIG)).toBe(config);
    });

    it('accepts falsy values', async () => {
      const LIMIT = new InjectionToken<number>('LIMIT');
      @Module({ providers: [{ provide: LIMIT, useValue: 0 }] })
      class AppModule {}

      const app = await startTestApp(AppModule);
      expect(app.get(LIMIT)).toBe(0);
    });
  });

  describe('{ provide, useClass }', () => {
    it('builds the given class, with its own dependencies, for the token', async () => {
      @Injectable()
      class Clock {}
      abstract class Store {
        abstract kind(): string;
      }
      @Injectable()
      class MemoryStore extends Store {
        constructor(readonly clock: Clock) {
          super();
        }
        kind() {
          return 'memory';
        }
      }
      @Injectable()
      class Service {
        constructor(readonly store: Store) {}
      }
      @Module({ providers: [Clock, Service, { provide: Store, useClass: MemoryStore }] })
      class AppModule {}

      const app = await startTestApp(AppModule);
      const store = app.get(Store);
      expect(store).toBeInstanceOf(MemoryStore);
      expect(store.kind()).toBe('memory');
      expect((store as MemoryStore).clock).toBe(app.get(Clock));
      expect(app.get(Service).store).toBe(store);
    });
  });

  describe('{ provide, useFactory, inject }', () => {
    it('calls a sync factory once with the injected tokens', async () => {
      const BASE = new InjectionToken<string>('BASE');
      const URL_TOKEN = new InjectionToken<string>('URL');
      let calls = 0;
      @Module({
        providers: [
          { provide: BASE, useValue: 'http://db' },
          {
            provide: URL_TOKEN,
            useFactory: (base: string) => {
              calls++;
              return `${base}/main`;
            },
            inject: [BASE],
          },
        ],
      })
      class AppModule {}

      const app = await startTestApp(AppModule);
      expect(app.get(URL_TOKEN)).toBe('http://db/main');
      expect(calls).toBe(1);
    });

    it('awaits an async factory before anything that depends on it is built', async () => {
      const CONNECTION = new InjectionToken<{ open: boolean }>('CONNECTION');
      @Injectable()
      class Repository {
        readonly openAtConstruction: boolean;
        constructor(@Inject(CONNECTION) readonly connection: { open: boolean }) {
          this.openAtConstruction = connection.open;
        }
      }
      @Module({
        providers: [
          Repository,
          { provide: CONNECTION, useFactory: async () => ({ open: await Promise.resolve(true) }) },
        ],
      })
      class AppModule {}

      const app = await startTestApp(AppModule);
      expect(app.get(CONNECTION)).toEqual({ open: true });
      expect(app.get(Repository).connection).toBe(app.get(CONNECTION));
      expect(app.get(Repository).openAtConstruction).toBe(true);
    });

    it('receives classes in inject as their singletons', async () => {
      @Injectable()
      class Clock {}
      const PAIR = new InjectionToken<[Clock, Clock]>('PAIR');
      @Module({ providers: [Clock, { provide: PAIR, useFactory: (a: Clock, b: Clock) => [a, b], inject: [Clock, Clock] }] })
      class AppModule {}

      const app = await startTestApp(AppModule);
      const [a, b] = app.get(PAIR);
      expect(a).toBe(app.get(Clock));
      expect(b).toBe(app.get(Clock));
    });
  });
});

describe('singletons', () => {
  it('injects the same instance into every consumer, and app.get returns it', async () => {
    let built = 0;
    @Injectable()
    class Counter {
      constructor() {
        built++;
      }
    }
    @Injectable()
    class First {
      constructor(readonly counter: Counter) {}
    }
    @Injectable()
    class Second {
      constructor(readonly counter: Counter) {}
    }
    @Module({ providers: [First, Second, Counter] })
    class AppModule {}

    const app = await startTestApp(AppModule);
    expect(app.get(First).counter).toBe(app.get(Second).counter);
    expect(app.get(Counter)).toBe(app.get(First).counter);
    expect(built).toBe(1);
  });

  it('makes controllers singletons too', async () => {
    @Controller()
    class HomeController {
      @Route('/')
      index() {
        return json({});
      }
    }
    @Module({ controllers: [HomeController] })
    class AppModule {}

    const app = await startTestApp(AppModule);
    expect(app.get(HomeController)).toBeInstanceOf(HomeController);
    expect(app.get(HomeController)).toBe(app.get(HomeController));
  });
});

describe('bootstrap({ overrides })', () => {
  it('replaces a provider of the modules, for every consumer', async () => {
    @Injectable()
    class UserStore {
      name() {
        return 'real';
      }
    }
    @Injectable()
    class Service {
      constructor(readonly store: UserStore) {}
    }
    @Module({ providers: [Service, UserStore] })
    class AppModule {}
    const fake = { name: () => 'fake' };

    const app = await startTestApp(AppModule, { providers: [{ provide: UserStore, useValue: fake }] });
    expect(app.get(UserStore)).toBe(fake);
    expect(app.get(Service).store).toBe(fake);
  });

  it('is not a "provided twice" error', async () => {
    const NAME = new InjectionToken<string>('NAME');
    @Module({ providers: [{ provide: NAME, useValue: 'real' }] })
    class AppModule {}

    const app = await startTestApp(AppModule, { providers: [{ provide: NAME, useFactory: () => 'override' }] });
    expect(app.get(NAME)).toBe('override');
  });
});

describe('errors', () => {
  /** `UsersController` at /users, built with a `store`: the head of the dependency paths errors name. */
  function usersControllerOf(store: Class): Class {
    @Controller()
    class UsersController {
      constructor(readonly users: unknown) {}
      @Route('/users')
      index() {
        return json([]);
      }
    }
    // What TypeScript records for `constructor(readonly users: UserStore)`: a parameter's type
    // cannot come from an argument, so the helper writes it.
    Reflect.defineMetadata('design:paramtypes', [store], UsersController);
    return UsersController;
  }

  it('names the dependency path to an interface-typed parameter and how to inject it', async () => {
    @Injectable()
    class UserStore {
      constructor(readonly db: Database) {}
    }
    @Module({ controllers: [usersControllerOf(UserStore)], providers: [UserStore] })
    class AppModule {}

    const error = await bootError(AppModule);
    expect(error.message).toContain('Cannot resolve UsersController → UserStore → param #0 (Object)');
    expect(error.message).toContain('an interface, type alias or primitive has no runtime identity');
    expect(error.message).toContain('@Inject(TOKEN)');
  });

  it('names a primitive-typed parameter by its position', async () => {
    @Injectable()
    class Clock {}
    @Injectable()
    class Pager {
      constructor(readonly clock: Clock, readonly size: number) {}
    }
    @Module({ providers: [Clock, Pager] })
    class AppModule {}

    const error = await bootError(AppModule);
    expect(error.message).toContain('Cannot resolve Pager → param #1 (Number): an interface, type alias or primitive');
  });

  it('names a class that is not a provider and says to add it to providers', async () => {
    @Injectable()
    class Mailer {}
    @Injectable()
    class UserStore {
      constructor(readonly mailer: Mailer) {}
    }
    @Module({ controllers: [usersControllerOf(UserStore)], providers: [UserStore] })
    class AppModule {}

    const error = await bootError(AppModule);
    expect(error.message).toContain('Cannot resolve UsersController → UserStore → Mailer: Mailer is not a provider.');
    expect(error.message).toContain('Add it to the providers of a module that bootstrap loads');
  });

  it('names an InjectionToken that nothing provides', async () => {
    const CLOCK = new InjectionToken<() => number>('CLOCK');
    @Injectable()
    class Service {
      constructor(@Inject(CLOCK) readonly now: () => number) {}
    }
    @Module({ providers: [Service] })
    class AppModule {}

    const error = await bootError(AppModule);
    expect(error.message).toContain('Cannot resolve Service → InjectionToken(CLOCK): InjectionToken(CLOCK) is not a provider.');
  });

  it('names the token a factory cannot get, by its inject position', async () => {
    const MISSING = new InjectionToken<string>('MISSING');
    const URL_TOKEN = new InjectionToken<string>('URL');
    @Module({ providers: [{ provide: URL_TOKEN, useFactory: (s: string) => s, inject: [MISSING] }] })
    class AppModule {}

    const error = await bootError(AppModule);
    expect(error.message).toContain('Cannot resolve InjectionToken(URL) → InjectionToken(MISSING)');
  });

  it('reports a circular dependency with its cycle', async () => {
    // Classes cannot name each other in constructor types (the later one is not yet defined when
    // the first is decorated), so B closes the cycle through a factory.
    class B {}
    @Injectable()
    class A {
      constructor(readonly b: B) {}
    }
    @Module({ providers: [A, { provide: B, useFactory: () => new B(), inject: [A] }] })
    class AppModule {}

    const error = await bootError(AppModule);
    expect(error.message).toContain('Circular dependency: A → B → A.');
    expect(error.message).toContain('Break the cycle');
  });

  it('points at a circular import when a parameter type was undefined at decoration', async () => {
    class Service {
      constructor(readonly store: unknown) {}
    }
    // What TypeScript records when the parameter's class is still undefined during a circular import.
    Reflect.defineMetadata('design:paramtypes', [undefined], Service);
    @Module({ providers: [Service] })
    class AppModule {}

    const error = await bootError(AppModule);
    expect(error.message).toContain('Cannot resolve Service → param #0 (undefined): its type was undefined when the class was decorated');
    expect(error.message).toContain('usually a circular import between files. Use @Inject(Token) or break the import cycle.');
  });

  it('asks for @Injectable() when a constructor has parameters but no emitted types', async () => {
    class Clock {}
    class Service {
      constructor(readonly clock: Clock) {}
    }
    @Module({ providers: [Clock, Service] })
    class AppModule {}

    const error = await bootError(AppModule);
    expect(error.message).toContain('Cannot resolve Service: its constructor takes 1 parameter(s) but TypeScript emitted no types');
    expect(error.message).toContain('Decorate the class with @Injectable()');
  });

  it('does not need @Injectable() for a class without constructor parameters', async () => {
    class Clock {}
    @Module({ providers: [Clock] })
    class AppModule {}

    const app = await startTestApp(AppModule);
    expect(app.get(Clock)).toBeInstanceOf(Clock);
  });
});

describe('#get', () => {
  it('throws naming a class that is not a provider of the app', async () => {
    @Module({})
    class AppModule {}
    class Unknown {}

    const app = await startTestApp(AppModule);
    expect(() => app.get(Unknown)).toThrow(ConfigError);
    expect(() => app.get(Unknown)).toThrow('Unknown is not a provider of this app: add it to the providers');
  });

  it('throws naming an unknown InjectionToken', async () => {
    @Module({})
    class AppModule {}

    const app = await startTestApp(AppModule);
    expect(() => app.get(new InjectionToken('FLAGS'))).toThrow('InjectionToken(FLAGS) is not a provider of this app');
  });
});
