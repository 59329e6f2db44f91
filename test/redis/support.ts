// What the Redis scale-out tests share: a redis-server of a test's own (to stop, restart and
// misconfigure without touching the shared one on 6379), a TCP proxy that can stop reading for a
// node (a slow subscriber), Vela nodes in child processes, raw clients, and waits on log lines.
// Everything started here is stopped after the test or the file, even when the test failed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, Socket, type AddressInfo, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Redis, type RedisOptions } from 'ioredis';
import { afterAll, afterEach } from 'vitest';
import { REDIS_URL, redisMissing, uniquePrefix } from '../support/redis.js';
import { eventually } from '../pubsub/support.js';
import { freePort } from '../support/ports.js';
import { type LogEntry, type MemoryLogger } from 'vela/testing';
import type { SessionStore } from 'vela';
import type { StoreUnderTest } from '../session/store-contract.js';

export const redisServerMissing = spawnSync('redis-server', ['--version']).error
  ? 'redis-server is not installed: the tests that stop and restart a Redis of their own are skipped'
  : undefined;
if (redisServerMissing && process.env.CI === 'true') throw new Error(`${redisServerMissing}; CI must run them.`);

const clients = new Set<Redis>();
const servers = new Set<RedisServer>();
const proxies = new Set<RedisProxy>();
const nodes = new Set<ChildNode>();

// Whichever of this and closeTestApps (test/support/close-apps.ts) runs first, an app closes fine
// with its Redis gone.
afterEach(async () => {
  await Promise.all([...nodes].map((node) => node.kill('SIGKILL')));
  await Promise.all([...proxies].map((proxy) => proxy.close()));
  await Promise.all([...clients].map((client) => client.quit().catch(() => client.disconnect())));
  clients.clear();
});

afterAll(async () => {
  await Promise.all([...servers].map((server) => server.kill()));
  // Crashed nodes and 24-hour sessions would otherwise stay in the shared Redis.
  if (redisMissing || prefixes.length === 0) return;
  const redis = new Redis(REDIS_URL);
  for (const prefix of prefixes.splice(0)) {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
  }
  await redis.quit();
});

const prefixes: string[] = [];

/** uniquePrefix() for a test on the shared Redis; its keys are deleted once the file is done. */
export function testPrefix(): string {
  const prefix = uniquePrefix();
  prefixes.push(prefix);
  return prefix;
}

/** A client for looking at Redis from outside Vela (PUBSUB NUMSUB, PTTL…), quit after the test. */
export function rawRedis(url: string, options: RedisOptions = {}): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: 1, ...options });
  client.on('error', () => {}); // a test that stops its Redis expects this client to fail meanwhile
  clients.add(client);
  return client;
}

/**
 * `redis-server --port N --save "" --appendonly no`, a child process of this test file: stopped with
 * `redis-cli -p N shutdown nosave`, started again on the same port (empty: nothing is persisted).
 */
export class RedisServer {
  readonly port: number;
  /** Everything the server wrote to stdout (its log), across restarts. */
  output = '';
  #process?: ChildProcess;

  private constructor(port: number) {
    this.port = port;
  }

  static async start(): Promise<RedisServer> {
    const server = new RedisServer(await freePort());
    servers.add(server);
    await server.start();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts the server (again) and resolves once it accepts connections. */
  async start(): Promise<void> {
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', '/tmp', '--loglevel', 'notice'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.#process = child;
    let stderr = '';
    // This start's own output: `output` keeps every start's, and an earlier "Ready" must not count.
    let thisStart = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server on ${this.port} not ready after 5 s:\n${this.output}${stderr}`)), 5_000);
      child.stdout!.on('data', (chunk: Buffer) => {
        this.output += chunk.toString();
        thisStart += chunk.toString();
        if (thisStart.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server on ${this.port} exited with ${code}:\n${this.output}${stderr}`));
      });
    });
  }

  /** `redis-cli -p N shutdown nosave`, and waits for the process to be gone. */
  async stop(): Promise<void> {
    const child = this.#process;
    if (!child || child.exitCode !== null) return;
    const exited = once(child, 'exit');
    const cli = spawn('redis-cli', ['-p', String(this.port), 'shutdown', 'nosave'], { stdio: 'ignore' });
    await once(cli, 'exit');
    await exited;
  }

  async kill(): Promise<void> {
    const child = this.#process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }
}

/** Which of a node's connections a proxy acts on: the one that subscribed, or the others. */
export type ConnectionKind = 'subscriber' | 'publisher' | 'all';

/**
 * A TCP proxy in front of Redis, for faults a real server cannot be asked for: a node that stops
 * reading (slow), replies lost on the way back, connections cut, a node cut off altogether.
 */
export class RedisProxy {
  readonly port: number;
  readonly #server: Server;
  readonly #pairs = new Set<{ client: Socket; upstream: Socket; subscriber: boolean }>();
  #paused = false;
  #swallowing = false;
  #blocked = false;
  /** What Redis sent to the subscribing connections, as latin1 text. */
  #toSubscribers = '';

  private constructor(server: Server, port: number) {
    this.#server = server;
    this.port = port;
  }

  static async start(target: number): Promise<RedisProxy> {
    let proxy!: RedisProxy;
    const server = createServer((client) => proxy.#pipe(client, target));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    proxy = new RedisProxy(server, (server.address() as AddressInfo).port);
    proxies.add(proxy);
    return proxy;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Open connections of that kind. */
  count(kind: ConnectionKind): number {
    return [...this.#pairs].filter((pair) => matches(pair, kind)).length;
  }

  /** Everything Redis sent to the subscribing connections so far (replies and messages, as latin1 text). */
  get heardBySubscribers(): string {
    return this.#toSubscribers;
  }

  /** Stops reading what Redis sends to the subscribing connections, as a node too slow to keep up; Redis buffers it. */
  pauseSubscribers(): void {
    this.#paused = true;
    for (const pair of this.#pairs) if (pair.subscriber) pair.upstream.pause();
  }

  /** Commands of the other connections still reach Redis; their replies are lost on the way back. */
  swallowReplies(): void {
    this.#swallowing = true;
  }

  /** Cuts the connections of that kind (the node reconnects through the proxy). */
  drop(kind: ConnectionKind): void {
    for (const pair of this.#pairs) if (matches(pair, kind)) pair.client.destroy();
  }

  /** Cuts every connection and refuses new ones until `restore()`: the node is cut off from Redis. */
  block(): void {
    this.#blocked = true;
    this.drop('all');
  }

  /** Undoes pauseSubscribers, swallowReplies and block. */
  restore(): void {
    this.#paused = false;
    this.#swallowing = false;
    this.#blocked = false;
    for (const pair of this.#pairs) pair.upstream.resume();
  }

  async close(): Promise<void> {
    if (!proxies.delete(this)) return;
    for (const { client, upstream } of this.#pairs) {
      client.destroy();
      upstream.destroy();
    }
    this.#server.close();
    await once(this.#server, 'close');
  }

  #pipe(client: Socket, target: number): void {
    if (this.#blocked) return void client.destroy();
    const upstream = new Socket();
    const pair = { client, upstream, subscriber: false };
    this.#pairs.add(pair);
    upstream.connect(target, '127.0.0.1');
    client.on('data', (chunk: Buffer) => {
      if (!pair.subscriber && /subscribe/i.test(chunk.toString('latin1'))) {
        pair.subscriber = true;
        if (this.#paused) upstream.pause();
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (pair.subscriber) this.#toSubscribers += chunk.toString('latin1');
      if (!(this.#swallowing && !pair.subscriber)) client.write(chunk);
    });
    const end = () => {
      this.#pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      socket.on('error', end);
      socket.on('close', end);
    }
  }
}

function matches(pair: { subscriber: boolean }, kind: ConnectionKind): boolean {
  return kind === 'all' || (kind === 'subscriber') === pair.subscriber;
}

/** Resolves with the first log entry at `level` whose message starts with `message`. */
export function logged(log: MemoryLogger, level: LogEntry['level'], message: string, timeoutMs = 5_000): Promise<LogEntry> {
  return eventually(
    () => log.entries.find((entry) => entry.level === level && entry.message.startsWith(message)),
    (entry) => entry !== undefined,
    `the ${level} log '${message}…'`,
    timeoutMs,
  ) as Promise<LogEntry>;
}

/** Log entries whose message starts with `message`. */
export function entries(log: MemoryLogger, message: string): LogEntry[] {
  return log.entries.filter((entry) => entry.message.startsWith(message));
}

/** The apps a ChildNode can run, in fixtures/. */
const NODE_APPS = {
  /** A gateway speaking test/pubsub/peer.ts's protocol. */
  peer: fileURLToPath(new URL('./fixtures/node-app.ts', import.meta.url)),
  /** A gateway relaying a history channel, for recovery across a node's death. */
  feed: fileURLToPath(new URL('./fixtures/feed-app.ts', import.meta.url)),
};

export interface ChildLogEntry {
  level: LogEntry['level'];
  message: string;
  fields: Record<string, unknown>;
}

/** A Vela app in a process of its own (fixtures/node-app.ts), on its own port. */
export class ChildNode {
  readonly url: string;
  readonly port: number;
  readonly process: ChildProcess;
  readonly logs: ChildLogEntry[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(child: ChildProcess, port: number, logs: ChildLogEntry[], exited: ChildNode['exited']) {
    this.process = child;
    this.port = port;
    this.url = `http://127.0.0.1:${port}`;
    this.logs = logs;
    this.exited = exited;
  }

  /** Starts `node --import tsx fixtures/<app>` and resolves once it listens. */
  static async start(env: { REDIS_URL: string; KEY_PREFIX: string; MEMBERSHIP_TTL?: number; PRESENCE_TIMEOUT?: number }, app: keyof typeof NODE_APPS = 'peer'): Promise<ChildNode> {
    const child = spawn(process.execPath, ['--import', 'tsx', NODE_APPS[app]], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      env: { ...process.env, ...env, MEMBERSHIP_TTL: String(env.MEMBERSHIP_TTL ?? ''), PRESENCE_TIMEOUT: String(env.PRESENCE_TIMEOUT ?? '') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const logs: ChildLogEntry[] = [];
    let stderr = '';
    // This start's own output: `output` keeps every start's, and an earlier "Ready" must not count.
    let thisStart = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${app} app not listening after 10 s:\n${stderr}`)), 10_000);
      let pending = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        pending += chunk.toString();
        const lines = pending.split('\n');
        pending = lines.pop()!;
        for (const line of lines) {
          const parsed = JSON.parse(line) as { listening?: number; log?: ChildLogEntry };
          if (parsed.log) logs.push(parsed.log);
          if (parsed.listening) {
            clearTimeout(timer);
            resolve(parsed.listening);
          }
        }
      });
      void exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`${app} app exited (${code ?? signal}) before listening:\n${stderr}`));
      });
    });
    const node = new ChildNode(child, port, logs, exited);
    nodes.add(node);
    return node;
  }

  /** Sends `signal` and resolves once the process is gone. */
  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    nodes.delete(this);
    if (this.process.exitCode === null && this.process.signalCode === null) this.process.kill(signal);
    return this.exited;
  }
}

/**
 * The contract moves the store's clock by exact milliseconds (1 000 ms live, 999 ms later still
 * there, 2 ms more gone), and real time keeps passing on a real server while a test runs. So here
 * one contract millisecond is one real second: ttls reach Redis multiplied by SCALE, and advance(ms)
 * shortens every key's PTTL by ms × SCALE, as that much time passing would. Redis alone decides what
 * has expired (a non-positive PEXPIRE deletes, as expiry does); the few real milliseconds a test
 * takes are a few thousandths of a contract millisecond.
 */
const SCALE = 1_000;

/** What a scaled store needs of Redis: its keys (`keys()`), and a client to read and change them. */
export interface StoreKeys {
  keys(): Promise<string[]>;
  redis: Pick<Redis, 'del' | 'pttl' | 'pexpire'>;
  /** After the store closed and its keys are deleted (the test's own client quits, say). */
  closed?(): Promise<unknown>;
}

/** A Redis session store as the SessionStore contract drives it: its clock scaled (SCALE), its keys deleted on close. */
export function scaledStore(store: SessionStore, { keys, redis, closed }: StoreKeys): StoreUnderTest {
  return {
    store: {
      name: store.name,
      load: (id) => store.load(id),
      save: (id, data, ttl) => store.save(id, data, ttl * SCALE),
      update: (id, data, ttl) => store.update!(id, data, ttl * SCALE),
      touch: (id, ttl) => store.touch(id, ttl * SCALE),
      destroy: (id) => store.destroy(id),
      close: async () => {
        await Promise.all((await keys()).map((key) => redis.del(key)));
        await store.close?.();
        await closed?.();
      },
    },
    advance: async (ms) => {
      for (const key of await keys()) {
        const pttl = await redis.pttl(key);
        if (pttl === -1) throw new Error(`${key} was stored without an expiry`);
        if (pttl >= 0) await redis.pexpire(key, pttl - ms * SCALE);
      }
    },
  };
}
