// A real Redis Cluster for the tests: six redis-server processes on free 127.0.0.1 ports in a temp
// dir (three primaries, three replicas), made one cluster by `redis-cli --cluster create`, and a
// primary that can be killed for its replica to take over. Everything started here is stopped after
// the file, even when a test failed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll } from 'vitest';
import { eventually } from '../pubsub/support.js';

export const clusterToolsMissing =
  spawnSync('redis-server', ['--version']).error || spawnSync('redis-cli', ['--version']).error
    ? 'redis-server or redis-cli is not installed: the Redis Cluster tests, which start a cluster of their own, are skipped'
    : undefined;
if (clusterToolsMissing && process.env.CI === 'true') throw new Error(`${clusterToolsMissing}; CI must run them.`);

/** How long a primary may be silent before its replica takes over: short, so a failover takes about a second. */
const NODE_TIMEOUT_MS = 1_000;

const clusters = new Set<LocalCluster>();
afterAll(async () => {
  await Promise.all([...clusters].map((cluster) => cluster.stop()));
});

interface ClusterProcess {
  readonly port: number;
  readonly child: ChildProcess;
}

export class LocalCluster {
  readonly #dir: string;
  readonly #nodes: ClusterProcess[];

  private constructor(dir: string, nodes: ClusterProcess[]) {
    this.#dir = dir;
    this.#nodes = nodes;
  }

  static async start(): Promise<LocalCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'vela-cluster-'));
    const ports: number[] = [];
    while (ports.length < 6) {
      const port = await clusterPort();
      if (!ports.includes(port)) ports.push(port);
    }
    const cluster = new LocalCluster(dir, await Promise.all(ports.map((port) => startNode(dir, port))));
    clusters.add(cluster);
    const create = spawn('redis-cli', ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '1', '--cluster-yes'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    for (const stream of [create.stdout!, create.stderr!]) stream.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const [code] = (await once(create, 'exit')) as [number];
    if (code !== 0) throw new Error(`redis-cli --cluster create exited with ${code}:\n${output}`);
    await cluster.healthy();
    await cluster.#replicated();
    return cluster;
  }

  /** `redis://127.0.0.1:<port>` of every live node: what an app lists in `cluster`. */
  get urls(): string[] {
    return this.#live().map(({ port }) => `redis://127.0.0.1:${port}`);
  }

  /** Resolves once every live node says `cluster_state:ok` and knows three primaries serving all slots. */
  async healthy(timeoutMs = 15_000): Promise<void> {
    for (const { port } of this.#live()) {
      await eventually(
        () => command(port, 'CLUSTER', 'INFO'),
        (info) => /cluster_state:ok/.test(String(info)) && /cluster_slots_ok:16384/.test(String(info)) && /cluster_size:3/.test(String(info)),
        `cluster_state:ok on 127.0.0.1:${port}`,
        timeoutMs,
      );
    }
  }

  /** The port of the primary that serves `key`'s slot now. */
  async primaryOf(key: string): Promise<number> {
    const [first] = this.#live();
    const slot = Number(await command(first!.port, 'CLUSTER', 'KEYSLOT', key));
    const ranges = (await command(first!.port, 'CLUSTER', 'SLOTS')) as [number, number, [string, number, string]][];
    const range = ranges.find(([from, to]) => slot >= from && slot <= to);
    if (!range) throw new Error(`no node serves slot ${slot}`);
    return range[2][1];
  }

  /** SIGKILLs the primary serving `key`, and resolves once its replica has taken over its slots. */
  async killPrimaryOf(key: string): Promise<void> {
    await this.#replicated();
    const port = await this.primaryOf(key);
    const node = this.#nodes.find((one) => one.port === port)!;
    const exited = once(node.child, 'exit');
    node.child.kill('SIGKILL');
    await exited;
    try {
      await eventually(() => this.primaryOf(key).catch(() => port), (now) => now !== port, `a replica to take over from 127.0.0.1:${port}`, 20_000);
      await this.healthy(20_000);
    } catch (error) {
      const [live] = this.#live();
      throw new Error(`${(error as Error).message}\nCLUSTER NODES on ${live!.port}:\n${String(await command(live!.port, 'CLUSTER', 'NODES'))}`, { cause: error });
    }
  }

  async stop(): Promise<void> {
    if (!clusters.delete(this)) return;
    await Promise.all(
      this.#live().map(async ({ child }) => {
        const exited = once(child, 'exit');
        child.kill('SIGKILL');
        await exited;
      }),
    );
    rmSync(this.#dir, { recursive: true, force: true });
  }

  /**
   * Every replica has synchronised with its primary: one that never did holds no data and refuses
   * to take over ("data is too old"), and --cluster create does not wait for it.
   */
  async #replicated(): Promise<void> {
    for (const { port } of this.#live()) {
      await eventually(
        () => command(port, 'INFO', 'replication'),
        (info) => !/role:slave/.test(String(info)) || /master_link_status:up/.test(String(info)),
        `the replica on 127.0.0.1:${port} in sync with its primary`,
        15_000,
      );
    }
  }

  #live(): ClusterProcess[] {
    return this.#nodes.filter(({ child }) => child.exitCode === null && child.signalCode === null);
  }
}

async function startNode(dir: string, port: number): Promise<ClusterProcess> {
  const child = spawn(
    'redis-server',
    [
      '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no',
      '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', String(NODE_TIMEOUT_MS),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server on ${port} not ready after 5 s:\n${output}`)), 5_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server on ${port} exited with ${code}:\n${output}`));
    });
  });
  return { port, child };
}

/**
 * A port that is free, and whose cluster bus port (port + 10 000) is free too: below 30 000, where
 * the kernel hands out no ephemeral ports.
 */
async function clusterPort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    if ((await free(port)) && (await free(port + 10_000))) return port;
  }
}

function free(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** One command on one node, on a connection of its own (READONLY first, so a replica answers reads too). */
export async function command(port: number, ...args: [string, ...(string | number)[]]): Promise<unknown> {
  const redis = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.call('READONLY');
    return await redis.call(...args);
  } finally {
    redis.disconnect();
  }
}

/** The port of a replica of the primary on `port`, or undefined when it has none (left). */
export async function replicaOf(port: number): Promise<number | undefined> {
  const match = /slave0:ip=[^,]+,port=(\d+)/.exec(String(await command(port, 'INFO', 'replication')));
  return match ? Number(match[1]) : undefined;
}
