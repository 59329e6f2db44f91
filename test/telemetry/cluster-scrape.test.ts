// One Prometheus scrape of an app on `vela start --workers 2` sees both workers: whichever worker
// node:cluster hands the scrape to, it answers with the sum of every worker's metrics (requests,
// open sockets), and says how many workers it summed. A worker that does not answer in time is left
// out, and the scrape says so instead of hanging.
import { request as httpRequest } from 'node:http';
import { describe, expect, it } from 'vitest';
import { Peer } from '../pubsub/peer.js';
import { Workers } from '../cluster/support.js';

const ENTRY = 'test/telemetry/fixtures/workers-app.mjs';

/** GET on a connection of its own, so that node:cluster hands it to the next worker. */
function get(app: Workers, path: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${app.url}${path}`, { agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, text }));
    });
    req.on('error', reject).end();
  });
}

/** The value of the series `name` whose labels include `labels`, in Prometheus text; undefined when none. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const has = Object.entries(labels).every(([key, value]) => match[2]?.includes(`${key}="${value}"`));
    if (has) return Number(match[3]);
  }
  return undefined;
}

/** Opens sockets on /pubsub until both workers hold at least one; returns them with their worker's pid. */
async function socketsOnBothWorkers(app: Workers): Promise<{ peer: Peer; pid: number }[]> {
  const placed: { peer: Peer; pid: number }[] = [];
  while (new Set(placed.map(({ pid }) => pid)).size < 2) {
    if (placed.length === 20) throw new Error(`20 sockets all reached pid ${placed[0]?.pid}: connections are not spread over the workers`);
    const peer = await Peer.connect(app, { path: '/pubsub' });
    placed.push({ peer, pid: await peer.call<number>('pid') });
  }
  return placed;
}

describe('a scrape of vela start --workers 2', () => {
  it('sums every worker: open sockets and requests of the whole machine, whichever worker it reaches', { timeout: 60_000 }, async () => {
    const app = await Workers.start(2, { entry: ENTRY });
    const sockets = await socketsOnBothWorkers(app);
    const servedBy = new Set<number>();
    let requests = 0;
    while (servedBy.size < 2 || requests < 5) {
      const answer = await get(app, '/hello');
      expect(answer.status).toBe(200);
      servedBy.add((JSON.parse(answer.text) as { pid: number }).pid);
      requests += 1;
    }

    // Two scrapes in a row reach both workers in turn (round-robin): each answers for both.
    for (const _ of [1, 2]) {
      const scrape = await get(app, '/metrics');
      expect(scrape.status).toBe(200);
      expect(sample(scrape.text, 'vela_websocket_connections', { vela_gateway: '/pubsub' })).toBe(sockets.length);
      expect(sample(scrape.text, 'http_server_request_duration_count', { http_route: '/hello' })).toBe(requests);
      expect(sample(scrape.text, 'vela_cluster_workers')).toBe(2);
      expect(sample(scrape.text, 'vela_cluster_workers_scraped')).toBe(2);
      expect(scrape.text).not.toContain('# vela:');
    }
    await Promise.all(sockets.map(({ peer }) => peer.close()));
  });

  it('leaves out a worker that does not answer in time, and says so', { timeout: 60_000 }, async () => {
    // Only worker 1 serves metrics: worker 2 never answers the primary's collect.
    const app = await Workers.start(2, { entry: ENTRY, env: { METRICS_WORKER: '1' } });
    let scrape = await get(app, '/metrics');
    // Worker 2 has no /metrics: the next connection goes to worker 1.
    if (scrape.status === 404) scrape = await get(app, '/metrics');
    expect(scrape.status).toBe(200);
    expect(scrape.text).toMatch(/^# vela: worker pid \d+ did not answer within 2000 ms: its metrics are not in this scrape$/m);
    expect(sample(scrape.text, 'vela_cluster_workers')).toBe(2);
    expect(sample(scrape.text, 'vela_cluster_workers_scraped')).toBe(1);
  });
});
