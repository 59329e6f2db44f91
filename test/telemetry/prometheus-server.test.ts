// A real Prometheus (Debian's `prometheus` package) scrapes a running app's /metrics; the test then
// asks Prometheus's HTTP API for the series and checks their values against the traffic it made.
// Without prometheus on PATH the test is skipped with the reason; in CI (.ci/run installs it) that fails.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestApp } from 'vela/testing';
import { eventually } from '../pubsub/support.js';
import { freePort } from '../support/ports.js';
import { AppModule } from './metrics-fixture.js';

const prometheusMissing = spawnSync('prometheus', ['--version']).error
  ? "Prometheus scrape test skipped: no `prometheus` on PATH (apt-get install prometheus; .ci/run installs it)"
  : undefined;
if (prometheusMissing) {
  if (process.env.CI === 'true') throw new Error(`${prometheusMissing}; CI must run it.`);
  console.warn(prometheusMissing);
}

let prometheus: { child: ChildProcess; dir: string } | undefined;

afterEach(async () => {
  if (!prometheus) return;
  const { child, dir } = prometheus;
  prometheus = undefined;
  if (child.exitCode === null && child.signalCode === null) {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  }
  await rm(dir, { recursive: true, force: true });
});

/** Starts Prometheus scraping `target` (host:port) every 500 ms; resolves with its API's base URL. */
async function startPrometheus(target: string, metricsPath: string): Promise<{ api: string; output: () => string }> {
  const dir = await mkdtemp(join(tmpdir(), 'vela-prometheus-'));
  const config = join(dir, 'prometheus.yml');
  await writeFile(
    config,
    [
      'global:',
      '  scrape_interval: 500ms',
      '  scrape_timeout: 400ms',
      'scrape_configs:',
      '  - job_name: vela',
      `    metrics_path: ${metricsPath}`,
      '    static_configs:',
      `      - targets: ['${target}']`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const child = spawn(
    'prometheus',
    [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let output = '';
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  prometheus = { child, dir };
  return { api: `http://127.0.0.1:${port}`, output: () => output };
}

/** GET a Prometheus API path; its `data`, or undefined while Prometheus is not answering yet. */
async function api<T>(base: string, path: string): Promise<T | undefined> {
  const res = await fetch(base + path).catch(() => undefined);
  if (!res?.ok) return undefined;
  return ((await res.json()) as { data: T }).data;
}

interface Targets {
  activeTargets: { health: string; lastError: string; scrapeUrl: string }[];
}

interface Vector {
  result: { metric: Record<string, string>; value: [number, string] }[];
}

describe.skipIf(prometheusMissing)('Prometheus scraping /metrics', () => {
  it('stores the series Vela serves, with the values the traffic implies', { timeout: 60_000 }, async () => {
    const app = await startTestApp(AppModule, { metrics: { path: '/metrics' } });
    // Known traffic: 3 requests to one route, 3 sockets in two rooms, 2 broadcasts reaching 3 members.
    for (const id of [1, 2, 3]) expect((await app.http.get(`/api/users/${id}`)).status).toBe(200);
    const sockets = await Promise.all(['/rooms/a', '/rooms/a', '/rooms/b'].map((path) => app.ws(path)));
    for (const socket of sockets) expect(await socket.recv()).toBe('joined');
    for (const room of ['a', 'b']) expect((await app.http.post(`/api/say/room:${room}`, { room })).status).toBe(204);
    for (const socket of sockets) await socket.recvJson();

    const { api: base, output } = await startPrometheus(new URL(app.url).host, '/metrics');
    const targets = await eventually(
      () => api<Targets>(base, '/api/v1/targets'),
      (data) => data?.activeTargets[0]?.health === 'up',
      `Prometheus to scrape ${app.url}/metrics`,
      30_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\nprometheus said:\n${output()}`);
    });
    expect(targets!.activeTargets[0]!.scrapeUrl).toBe(`${app.url}/metrics`);

    const query = async (promql: string) => {
      const data = await api<Vector>(base, `/api/v1/query?query=${encodeURIComponent(promql)}`);
      return data?.result.map(({ metric, value }) => ({ labels: metric, value: Number(value[1]) }));
    };
    const one = async (promql: string) => {
      const result = await query(promql);
      expect(result, promql).toHaveLength(1);
      return result![0]!.value;
    };
    expect(await one('sum(http_server_request_duration_count{job="vela",http_route="/api/users/:id",http_response_status_code="200"})')).toBe(3);
    expect(await one('sum(http_server_request_duration_bucket{http_route="/api/users/:id",le="+Inf"})')).toBe(3);
    expect(await one('vela_websocket_connections{vela_gateway="/rooms/:room"}')).toBe(3);
    expect(await one('vela_websocket_messages_sent_total{vela_gateway="/rooms/:room"}')).toBe(6); // 3 greetings, 3 deliveries
    expect(await one('vela_pubsub_broadcasts_total{vela_channel_pattern="room:*"}')).toBe(2);
    expect(await one('vela_pubsub_deliveries_total{vela_channel_pattern="room:*"}')).toBe(3);
    expect(await one('sum(vela_pubsub_fanout_lag_count{vela_channel_pattern="room:*"})')).toBe(2);
    // Raw channel names never reach a label.
    const patterns = (await query('vela_pubsub_broadcasts_total'))!.map(({ labels }) => labels.vela_channel_pattern);
    expect(patterns).toEqual(['room:*']);
  });
});
