// Provider hooks as an app relies on them: `onInit` before the port opens, dependencies first;
// `onClose` after the drain, dependents first, each bounded by shutdownTimeout; a failing `onInit`
// stops bootstrap and closes what had started.
import { describe, expect, it } from 'vitest';
import { Controller, Inject, Injectable, InjectionToken, Module, Route, StartupError, WebSocket, json, type OnClose, type OnInit } from 'vela';
import { startTestApp } from 'vela/testing';
import { deferred } from '../support/deferred.js';
import { freePort, tryConnect } from '../support/ports.js';

/** A provider with both hooks that writes them down: the database pool of these tests. */
function database(events: string[]) {
  @Injectable()
  class Database implements OnInit, OnClose {
    open = false;
    onInit() {
      this.open = true;
      events.push('Database.onInit');
    }
    onClose() {
      this.open = false;
      events.push('Database.onClose');
    }
  }
  return Database;
}

describe('provider hooks', () => {
  it('runs onInit dependencies first before the port opens, and onClose dependents first after close()', async () => {
    const events: string[] = [];
    const Database = database(events);
    @Injectable()
    class PostStore implements OnInit, OnClose {
      constructor(@Inject(Database) readonly db: InstanceType<typeof Database>) {}
      onInit() {
        events.push(`PostStore.onInit (db open: ${this.db.open})`);
      }
      onClose() {
        events.push(`PostStore.onClose (db open: ${this.db.open})`);
      }
    }
    @Controller()
    class PostsController implements OnInit, OnClose {
      constructor(readonly store: PostStore) {}
      onInit() {
        events.push('PostsController.onInit');
      }
      onClose() {
        events.push('PostsController.onClose');
      }
      @Route('/posts')
      list() {
        return json({ open: this.store.db.open });
      }
    }
    // Listed dependents first: the order comes from the dependencies, not the list.
    @Module({ controllers: [PostsController], providers: [PostStore, Database] })
    class AppModule {}

    const app = await startTestApp(AppModule);
    expect(events).toEqual(['Database.onInit', 'PostStore.onInit (db open: true)', 'PostsController.onInit']);
    expect(await (await app.http.get('/posts')).json()).toEqual({ open: true });

    await app.close();
    expect(events.slice(3)).toEqual(['PostsController.onClose', 'PostStore.onClose (db open: true)', 'Database.onClose']);
  });

  it('awaits async hooks: the port opens after every onInit, close() resolves after every onClose', async () => {
    const entered = deferred();
    const connected = deferred();
    const leaving = deferred();
    const disconnected = deferred();
    @Injectable()
    class Queue {
      state = 'new';
      async onInit() {
        entered.resolve();
        await connected.promise;
        this.state = 'connected';
      }
      async onClose() {
        leaving.resolve();
        await disconnected.promise;
        this.state = 'disconnected';
      }
    }
    @Module({ providers: [Queue] })
    class AppModule {}

    const port = await freePort();
    const starting = startTestApp(AppModule, { port });
    await entered.promise;
    expect(await tryConnect(port)).toBe('ECONNREFUSED');
    connected.resolve();
    const app = await starting;
    expect(app.get(Queue).state).toBe('connected');

    let closed = false;
    const closing = app.close().then(() => (closed = true));
    await leaving.promise;
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed).toBe(false);
    disconnected.resolve();
    await closing;
    expect(app.get(Queue).state).toBe('disconnected');
  });

  it('stops bootstrap on a failing onInit with the provider and the cause, and closes the providers started before it', async () => {
    const events: string[] = [];
    const Database = database(events);
    @Injectable()
    class Cache {
      constructor(@Inject(Database) readonly db: InstanceType<typeof Database>) {}
      onInit() {
        throw new Error('ECONNREFUSED 127.0.0.1:11211');
      }
      onClose() {
        events.push('Cache.onClose');
      }
    }
    @Injectable()
    class Reports {
      constructor(readonly cache: Cache) {}
      onInit() {
        events.push('Reports.onInit');
      }
    }
    @Module({ providers: [Reports, Cache, Database] })
    class AppModule {}

    const error = await startTestApp(AppModule).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StartupError);
    expect((error as Error).message).toBe(
      'Cache.onInit() failed (Cache in AppModule.providers): ECONNREFUSED 127.0.0.1:11211. ' +
        'The app did not start; the providers started before it were closed. Fix the cause, or catch it in onInit if the app can run without it.',
    );
    expect((error as Error).cause).toEqual(new Error('ECONNREFUSED 127.0.0.1:11211'));
    expect(events).toEqual(['Database.onInit', 'Database.onClose']);
  });

  it('moves on from an onClose that overruns shutdownTimeout, logs it, and still closes the rest', async () => {
    const events: string[] = [];
    const Database = database(events);
    @Injectable()
    class StuckQueue {
      constructor(@Inject(Database) readonly db: InstanceType<typeof Database>) {}
      onClose() {
        events.push('StuckQueue.onClose');
        return new Promise<void>(() => {}); // never settles
      }
    }
    @Injectable()
    class Broken {
      onClose() {
        throw new Error('already closed');
      }
    }
    @Module({ providers: [StuckQueue, Database, Broken] })
    class AppModule {}

    const app = await startTestApp(AppModule, { shutdownTimeout: 50 });
    await app.close();
    expect(events).toEqual(['Database.onInit', 'StuckQueue.onClose', 'Database.onClose']);
    const lines = app.logs.entries.filter((entry) => entry.fields.provider);
    expect(lines).toEqual([
      { level: 'error', message: 'Broken.onClose() failed', fields: { provider: 'Broken', error: new Error('already closed') } },
      {
        level: 'warn',
        message: 'StuckQueue.onClose() did not finish within shutdownTimeout: moved on without it',
        fields: { provider: 'StuckQueue', shutdownTimeout: 50 },
      },
    ]);
  });

  it('runs onClose after the last socket’s terminate', async () => {
    const events: string[] = [];
    const Database = database(events);
    @WebSocket('/live')
    class LiveGateway {
      constructor(@Inject(Database) readonly db: InstanceType<typeof Database>) {}
      terminate() {
        events.push('LiveGateway.terminate');
      }
    }
    @Module({ gateways: [LiveGateway], providers: [Database] })
    class AppModule {}

    const app = await startTestApp(AppModule);
    const ws = await app.ws('/live');
    await app.close();
    expect((await ws.closed).code).toBe(1001);
    expect(events).toEqual(['Database.onInit', 'LiveGateway.terminate', 'Database.onClose']);
  });

  it('leaves values and factory results alone: their owner starts and stops them', async () => {
    const events: string[] = [];
    const POOL = new InjectionToken<object>('POOL');
    const QUEUE = new InjectionToken<object>('QUEUE');
    const pool = { onInit: () => events.push('pool.onInit'), onClose: () => events.push('pool.onClose') };
    @Module({ providers: [{ provide: POOL, useValue: pool }, { provide: QUEUE, useFactory: () => ({ onClose: () => events.push('queue.onClose') }) }] })
    class AppModule {}

    const app = await startTestApp(AppModule);
    await app.close();
    expect(events).toEqual([]);
  });
});
