// bootstrap({ health }) as a load balancer meets it: 200 with the state of what the app depends on,
// 503 while a dependency is down (a Redis outage) or the app is closing, before the drain begins;
// and the whole shutdown sequence behind a balancer, step by step.
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  Controller,
  Injectable,
  Module,
  Route,
  WebSocket,
  json,
  redisPubSub,
  redisSessionStore,
  type HealthCheck,
  type HealthState,
} from 'vela';
import { startTestApp, type TestApp } from 'vela/testing';
import { eventually } from './pubsub/support.js';
import { RedisServer, redisServerMissing } from './redis/support.js';
import { deferred } from './support/deferred.js';
import { tryConnect } from './support/ports.js';

@Controller()
class PingController {
  @Route('/ping')
  ping() {
    return json({ pong: true });
  }
}

async function health(app: TestApp): Promise<{ status: number; body: { status: string; checks: Record<string, HealthState> } }> {
  const res = await app.client().http.get('/health');
  return { status: res.status, body: (await res.json()) as { status: string; checks: Record<string, HealthState> } };
}

describe('bootstrap({ health })', () => {
  it('answers 200 with the pub/sub adapter and the session store up', async () => {
    @Module({})
    class AppModule {}
    const app = await startTestApp(AppModule, { health: '/health' });

    const { status, body } = await health(app);
    expect(status).toBe(200);
    expect(body).toEqual({ status: 'up', checks: { pubsub: { up: true, adapter: 'memory' }, sessions: { up: true, store: 'memory' } } });
    expect((await app.http.get('/health')).headers.get('cache-control')).toBe('no-store');
  });

  it('asks providers with a healthCheck(), and answers 503 while one is down, throws or overruns timeout', async () => {
    @Injectable()
    class Mailer implements HealthCheck {
      up = true;
      healthCheck() {
        return { up: this.up, smtp: this.up ? 'connected' : 'refused' };
      }
    }
    @Injectable()
    class Search implements HealthCheck {
      fail = false;
      async healthCheck(): Promise<HealthState> {
        if (this.fail) throw new Error('index missing');
        return { up: true };
      }
    }
    @Injectable()
    class Stuck implements HealthCheck {
      stuck = false;
      healthCheck() {
        return this.stuck ? new Promise<HealthState>(() => {}) : { up: true };
      }
    }
    @Module({ providers: [Mailer, Search, Stuck] })
    class AppModule {}
    const app = await startTestApp(AppModule, { health: { path: '/health', timeout: 100 }, sessions: false });

    expect(await health(app)).toEqual({
      status: 200,
      body: { status: 'up', checks: { pubsub: { up: true, adapter: 'memory' }, Mailer: { up: true, smtp: 'connected' }, Search: { up: true }, Stuck: { up: true } } },
    });
    app.get(Mailer).up = false;
    app.get(Search).fail = true;
    app.get(Stuck).stuck = true;
    expect(await health(app)).toEqual({
      status: 503,
      body: {
        status: 'down',
        checks: {
          pubsub: { up: true, adapter: 'memory' },
          Mailer: { up: false, smtp: 'refused' },
          Search: { up: false, error: 'index missing' },
          Stuck: { up: false, error: 'no answer within 100 ms' },
        },
      },
    });
  });

  it('closes in order: readiness 503, readinessDelay serving on, stop accepting, 1001, drain, onClose', async () => {
    const events: string[] = [];
    @Injectable()
    class Journal {
      readonly arrived = deferred();
      readonly release = deferred();
      listening = () => true;
      onClose() {
        events.push('onClose');
      }
    }
    @Controller()
    class SlowController {
      constructor(readonly journal: Journal) {}
      @Route('/slow')
      async slow() {
        this.journal.arrived.resolve();
        await this.journal.release.promise;
        events.push('slow request finished');
        return json({ done: true });
      }
    }
    @WebSocket('/live')
    class JournalGateway {
      constructor(readonly journal: Journal) {}
      terminate() {
        events.push(`terminate (listening: ${this.journal.listening()})`);
      }
    }
    @Module({ controllers: [PingController, SlowController], gateways: [JournalGateway], providers: [Journal] })
    class AppModule {}
    const app = await startTestApp(AppModule, { health: { path: '/health', readinessDelay: 1_500 }, sessions: false });
    const journal = app.get(Journal);
    journal.listening = () => app.server.listening;
    const ws = await app.ws('/live');
    const slow = app.client().http.get('/slow');
    await journal.arrived.promise;

    const closing = app.close();
    // The balancer's probe sees 503 at once, while the clients it already sent still get answers.
    expect(await health(app)).toEqual({ status: 503, body: { status: 'closing', checks: { pubsub: { up: true, adapter: 'memory' } } } });
    expect((await app.client().http.get('/ping')).status).toBe(200);
    expect(events).toEqual([]);

    expect((await ws.closed).code).toBe(1001);
    expect(await tryConnect(app.port)).toBe('ECONNREFUSED');
    expect(events).toEqual(['terminate (listening: false)']); // the drain waits on /slow, onClose on the drain
    journal.release.resolve();
    expect((await slow).status).toBe(200);
    await closing;
    expect(events).toEqual(['terminate (listening: false)', 'slow request finished', 'onClose']);
  });

  it('refuses a path a route already has', async () => {
    @Module({ controllers: [PingController] })
    class AppModule {}
    const error = await startTestApp(AppModule, { health: '/ping' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe(
      "bootstrap({ health: '/ping' }) is also the path of PingController.ping: serve the health endpoint at another path.",
    );
  });

  it('refuses options it does not know, naming the fix', async () => {
    @Module({})
    class AppModule {}
    const error = await startTestApp(AppModule, { health: { path: '/health', delay: 5 } as never }).catch((e: unknown) => e);
    expect((error as Error).message).toBe("bootstrap health has no option 'delay': use path, readinessDelay, timeout.");
  });

  it.skipIf(redisServerMissing)('answers 503 through a Redis outage, and 200 again once Redis is back', async () => {
    const redis = await RedisServer.start();
    @Module({})
    class AppModule {}
    const store = redisSessionStore({ url: redis.url });
    const app = await startTestApp(AppModule, { health: '/health', pubsub: redisPubSub({ url: redis.url }), sessions: { store } });
    // The session store connects on first use: until then it has nothing to be down.
    expect((await health(app)).body.checks.sessions).toEqual({ up: true, store: 'redis', connection: 'not connected yet' });
    await store.touch('nobody', 1_000);
    expect(await health(app)).toEqual({
      status: 200,
      body: {
        status: 'up',
        checks: {
          pubsub: { up: true, adapter: 'redis', publisher: 'ready', subscriber: 'ready' },
          sessions: { up: true, store: 'redis', connection: 'ready' },
        },
      },
    });

    await redis.stop();
    const down = await eventually(() => health(app), (answer) => answer.status === 503 && !answer.body.checks.sessions!.up, 'a 503 in the outage');
    expect(down.body.status).toBe('down');
    expect(down.body.checks.pubsub!.up).toBe(false);

    await redis.start();
    const back = await eventually(() => health(app), (answer) => answer.status === 200, 'a 200 once Redis is back', 10_000);
    expect(back.body.status).toBe('up');
  });
});
