// clusterPubSub() and clusterSessionStore() in bootstrap's health endpoint: up while the IPC channel
// to the primary is, down with the reason once the primary is gone (its process killed), so a load
// balancer stops sending clients to a worker that no longer reaches the others or the sessions.
import { describe, expect, it } from 'vitest';
import { Module, clusterPubSub, clusterSessionStore, type HealthState } from 'vela';
import { startTestApp, type TestApp } from 'vela/testing';
import { forkPrimary } from './support.js';

@Module({})
class EmptyModule {}

interface HealthAnswer {
  status: number;
  body: { status: string; checks: { pubsub: HealthState; sessions: HealthState } };
}

async function health(app: TestApp): Promise<HealthAnswer> {
  const res = await app.client().http.get('/health');
  return { status: res.status, body: (await res.json()) as HealthAnswer['body'] };
}

describe('cluster adapter and session store #health', () => {
  it('are up while the primary is, and down saying the primary is gone once its process was killed', async () => {
    const primary = await forkPrimary();
    const app = await startTestApp(EmptyModule, {
      pubsub: clusterPubSub({ port: primary.port }),
      sessions: { store: clusterSessionStore({ port: primary.port }) },
      health: '/health',
    });
    try {
      const before = await health(app);
      expect(before.status).toBe(200);
      expect(before.body.checks.pubsub).toEqual({ up: true, primary: 'connected', adapter: 'cluster' });
      expect(before.body.checks.sessions).toEqual({ up: true, primary: 'connected', store: 'cluster' });

      await primary.kill();
      const after = await health(app);
      expect(after.status).toBe(503);
      expect(after.body.status).toBe('down');
      for (const check of [after.body.checks.pubsub, after.body.checks.sessions]) {
        expect(check).toMatchObject({ up: false, primary: 'gone' });
        expect(check.error).toBe(
          'the IPC channel to the primary closed (the primary process is gone): this process no longer reaches the other workers; restart the app (vela start)',
        );
      }
    } finally {
      await app.close();
    }
  });
});
