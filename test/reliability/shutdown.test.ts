// Reliability battery, shutdown: app.close() under load (27), and SIGTERM to the example blog built
// and started the way `npm start` does it (28). Both: new connections refused, in-flight requests
// finished, every socket closed with 1001, and the end reached in bounded time.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { connect as tcpConnect, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket as WsClient } from 'ws';
import {
  Controller,
  Injectable,
  Module,
  OnInfo,
  OnMessage,
  PubSub,
  Route,
  WebSocket,
  json,
  redisPubSub,
  reply,
  type CloseReason,
  type Context,
  type PubSubMessage,
} from 'vela';
import { REDIS_URL, redisMissing } from '../support/redis.js';
import { eventually } from '../pubsub/support.js';
import { rawRedis, testPrefix } from '../redis/support.js';
import { startTestApp } from 'vela/testing';
import { deferred } from '../support/deferred.js';

const root = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');

/** Resolves with the error of a TCP connection to `port`, or undefined if it was accepted. */
function tcpRefusal(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = tcpConnect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code));
  });
}

/** Holds every request to /slow until released; counts those inside. */
@Injectable()
class Hold {
  inside = 0;
  readonly #arrivals = new Set<() => void>();
  readonly #released = deferred();

  async enter(): Promise<void> {
    this.inside += 1;
    for (const wake of this.#arrivals) wake();
    await this.#released.promise;
  }

  until(count: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        if (this.inside < count) return;
        this.#arrivals.delete(wake);
        resolve();
      };
      this.#arrivals.add(wake);
      wake();
    });
  }

  release(): void {
    this.#released.resolve();
  }
}

@Injectable()
class Terminations {
  readonly reasons: CloseReason[] = [];
}

@Controller()
class SlowController {
  constructor(private readonly hold: Hold) {}

  @Route('/slow/:n')
  async slow(ctx: Context) {
    await this.hold.enter();
    return json({ n: Number(ctx.params.n) });
  }
}

@WebSocket('/room')
class RoomGateway {
  constructor(
    private readonly pubsub: PubSub,
    private readonly terminations: Terminations,
  ) {}

  init() {
    this.pubsub.join('room');
  }

  @OnMessage()
  ignore() {}

  @OnInfo({ channel: 'room' })
  relay(message: PubSubMessage<number>) {
    return reply(String(message.payload));
  }

  terminate(reason: CloseReason) {
    this.terminations.reasons.push(reason);
  }
}

@Module({ controllers: [SlowController], gateways: [RoomGateway], providers: [Hold, Terminations] })
class ShutdownModule {}

describe('27. app.close() under load', () => {
  it.skipIf(redisMissing)(
    '27. app.close() under load: no new connections, in-flight requests complete, every socket gets 1001 and its terminate, Redis membership gone at once, close resolves',
    async () => {
      const SOCKETS = 200;
      const REQUESTS = 20;
      const keyPrefix = testPrefix();
      const [a, b] = await Promise.all([0, 1].map(() => startTestApp(ShutdownModule, { pubsub: redisPubSub({ url: REDIS_URL, keyPrefix }) })));
      const clients = [];
      for (let batch = 0; batch < SOCKETS; batch += 50) clients.push(...(await Promise.all(Array.from({ length: 50 }, () => a!.ws('/room')))));
      await eventually(() => b!.pubsub.members('room'), (ids) => ids.length === SOCKETS, `A's ${SOCKETS} sockets seen from B`);

      // Load: B streams broadcasts to A's sockets through Redis, and REQUESTS requests are in A's handlers.
      let streaming = true;
      let broadcasts = 0;
      const stream = (async () => {
        while (streaming) {
          // Bursts of 10, then the event loop turns (pacing; nothing waits on it).
          await Promise.all(Array.from({ length: 10 }, () => b!.pubsub.broadcast('room', 'tick', broadcasts++)));
          await new Promise((resolve) => setImmediate(resolve));
        }
      })();
      const hold = a!.get(Hold);
      const requests = Array.from({ length: REQUESTS }, (_, n) => a!.http.fetch(`/slow/${n}`));
      await hold.until(REQUESTS);
      await clients[0]!.recv(); // the stream reaches A's sockets

      let closed = false;
      const closing = Date.now();
      const closeDone = a!.close().then(() => (closed = true));

      // Nothing new gets in: the listening socket is closed at once.
      expect(await tcpRefusal(a!.port)).toBe('ECONNREFUSED');
      // Every socket gets 1001, and close() is still waiting: the requests are not done.
      const codes = await Promise.all(clients.map((client) => client.closed));
      expect(new Set(codes.map((code) => JSON.stringify(code)))).toEqual(new Set([JSON.stringify({ code: 1001, reason: 'server shutting down' })]));
      expect(closed).toBe(false);

      hold.release();
      const responses = await Promise.all(requests);
      expect(responses.map((res) => res.status)).toEqual(Array(REQUESTS).fill(200));
      expect(await Promise.all(responses.map((res) => res.json()))).toEqual(Array.from({ length: REQUESTS }, (_, n) => ({ n })));
      await closeDone;
      const closeMs = Date.now() - closing;

      // Membership: gone from Redis when close() resolves, so another node sees none at once.
      expect(await b!.pubsub.members('room')).toEqual([]);
      const redis = rawRedis(REDIS_URL);
      expect(await redis.keys(`${keyPrefix}:node:*`)).toEqual([]); // B has no members, so no hash of its own
      expect(await redis.zcard(`${keyPrefix}:nodes`)).toBe(1); // B only
      const reasons = a!.get(Terminations).reasons;
      expect(reasons).toHaveLength(SOCKETS);
      expect(reasons.every((reason) => reason.code === 1001)).toBe(true);
      expect(a!.logs.entries.filter((entry) => entry.level === 'error' || entry.level === 'warn')).toEqual([]);

      streaming = false;
      await stream;
      expect(b!.logs.entries.filter((entry) => entry.level === 'error')).toEqual([]);
      console.info(`[27] close() with ${SOCKETS} sockets, ${REQUESTS} requests in flight and ${broadcasts} broadcasts streaming: resolved ${closeMs} ms after it was called`);
    },
    30_000,
  );
});

/**
 * The blog as `npm start` runs it: compiled JavaScript (decorator metadata and all) started with
 * plain `node`. `npm start` builds into dist/ and example/.build/, which other test files read while
 * this one runs, so this compiles the same sources into a scratch directory of its own: Vela as the
 * package `vela` in its node_modules, the blog beside it, and the browser client the app serves
 * copied from dist/client (test/support/client-build.ts keeps that one fresh). TypeScript emits
 * file by file with the project's options, as tsc would, without type-checking everything again
 * (seconds of CPU that the rest of the suite, running alongside, needs more; typecheck does that).
 */
async function buildBlog(): Promise<{ main: string; dataDir: string; remove(): Promise<void> }> {
  await mkdir(join(root, '.build'), { recursive: true });
  const dir = await mkdtemp(join(root, '.build', 'reliability-blog-'));
  const out = join(dir, 'out');
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ES2022, // the package is "type": "module"
    experimentalDecorators: true,
    emitDecoratorMetadata: true,
    useDefineForClassFields: false,
    esModuleInterop: true,
  };
  for (const folder of ['src', 'example/blog']) {
    for (const file of await readdir(join(root, folder), { recursive: true })) {
      if (!file.endsWith('.ts') || file.endsWith('.d.ts') || (folder === 'src' && file.startsWith('client'))) continue;
      const source = await readFile(join(root, folder, file), 'utf8');
      const { outputText, diagnostics } = ts.transpileModule(source, { compilerOptions: options, fileName: file, reportDiagnostics: true });
      if (diagnostics?.length) throw new Error(`${folder}/${file}: ${ts.flattenDiagnosticMessageText(diagnostics[0]!.messageText, '\n')}`);
      const target = join(out, folder, file.replace(/\.ts$/, '.js'));
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, outputText);
    }
  }
  await cp(join(root, 'dist/client'), join(out, 'src/client'), { recursive: true });
  await writeFile(join(out, 'package.json'), JSON.stringify({ private: true, type: 'module' }));
  await writeFile(join(out, 'src/package.json'), JSON.stringify({ name: 'vela', type: 'module', exports: { '.': './index.js' } }));
  await mkdir(join(out, 'node_modules'));
  await symlink(join(out, 'src'), join(out, 'node_modules/vela'), 'dir');
  // Vela's own dependencies (koa, ws…) resolve from this checkout's node_modules, up the tree.
  return { main: join(out, 'example/blog/main.js'), dataDir: join(dir, 'data'), remove: () => rm(dir, { recursive: true, force: true }) };
}

/** `node <main>` from the repository root (the blog's views and assets are relative to it), on a free port. */
class BlogProcess {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly #waiters = new Set<() => void>();

  /** `dataDir`: where the blog keeps its database (BLOG_DATA_DIR), not the checkout's example/data. */
  constructor(main: string, dataDir: string) {
    this.child = spawn(process.execPath, [main], {
      cwd: root,
      env: { ...process.env, PORT: '0', LOG_LEVEL: 'info', NODE_ENV: 'production', BLOG_DATA_DIR: dataDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        this.lines.push(line);
        for (const wake of this.#waiters) wake();
      });
    }
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  /** The first line matching `pattern` (already printed or still to come). */
  line(pattern: RegExp, timeoutMs = 10_000): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; got:\n${this.lines.join('\n')}`));
      }, timeoutMs);
      const check = () => {
        for (const line of this.lines) {
          const match = pattern.exec(line);
          if (!match) continue;
          clearTimeout(timer);
          this.#waiters.delete(check);
          return resolve(match);
        }
      };
      this.#waiters.add(check);
      check();
    });
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/** Reads a raw HTTP exchange on `socket` until `pattern` shows in it. */
function received(socket: Socket, pattern: RegExp, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => done(new Error(`no ${pattern} within ${timeoutMs} ms; got ${JSON.stringify(text)}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      if (pattern.test(text)) done();
    };
    const onEnd = () => done(pattern.test(text) ? undefined : new Error(`connection ended before ${pattern}; got ${JSON.stringify(text)}`));
    function done(error?: Error) {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      if (error) reject(error);
      else resolve(text);
    }
    socket.on('data', onData);
    socket.once('end', onEnd);
  });
}

describe('28. SIGTERM to the example app', () => {
  let blog: { main: string; dataDir: string; remove(): Promise<void> } | undefined;
  let running: BlogProcess | undefined;

  beforeAll(async () => {
    blog = await buildBlog();
  }, 60_000);

  afterAll(async () => {
    running?.kill();
    await blog?.remove();
  });

  it('28. SIGTERM to the example app (compiled and run with node, as `npm start` does): an open socket gets 1001, an in-flight request completes, the database closes after the socket, the process exits 0 in bounded time', async () => {
    const app = (running = new BlogProcess(blog!.main, blog!.dataDir));
    const [, url] = (await app.line(/"url":"(http:\/\/[^"]+)","msg":"blog listening"/)) as unknown as [string, string];
    const port = Number(new URL(url).port);

    // A live socket on the echo gateway.
    const ws = new WsClient(`${url.replace(/^http/, 'ws')}/ws`);
    const wsClosed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    await once(ws, 'open');
    ws.send('hi');
    const [echo] = (await once(ws, 'message')) as [Buffer];
    expect(echo.toString()).toBe('Echo: hi');

    // An upload in flight: the server has its headers (it answered 100 Continue), the body comes later.
    // With the session's CSRF token, as the blog's own scripts send it (csrf() runs on every route).
    const tokenRes = await fetch(`${url}/api/csrf-token`);
    const { token } = (await tokenRes.json()) as { token: string };
    const cookie = tokenRes.headers.getSetCookie()[0]!.split(';')[0]!;
    const body = JSON.stringify({ name: 'Grace', email: 'grace@example.com' });
    const upload = tcpConnect(port, '127.0.0.1');
    await once(upload, 'connect');
    const answer = received(upload, /\r\n\r\n\{.*\}$/s);
    upload.write(
      `POST /api/users HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nCookie: ${cookie}\r\nX-CSRF-Token: ${token}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nExpect: 100-continue\r\n\r\n`,
    );
    await received(upload, /^HTTP\/1\.1 100 Continue\r\n\r\n/);

    const signalled = Date.now();
    app.child.kill('SIGTERM');
    expect(await wsClosed).toEqual({ code: 1001, reason: 'server shutting down' });
    expect(await tcpRefusal(port)).toBe('ECONNREFUSED'); // nothing new gets in
    expect(app.child.exitCode).toBeNull(); // still waiting for the upload

    upload.write(body);
    const response = await answer;
    expect(response).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 201 Created\r\n/);
    expect(JSON.parse(response.slice(response.lastIndexOf('\r\n\r\n') + 4))).toEqual({ id: 3, name: 'Grace', email: 'grace@example.com' });

    expect(await app.exited).toEqual({ code: 0, signal: null });
    const exitMs = Date.now() - signalled;
    expect(exitMs).toBeLessThan(5_000);
    await app.line(/"signal":"SIGTERM","msg":"shutting down"/);
    expect(app.lines.filter((line) => /"level":(40|50)/.test(line))).toEqual([]); // pino: 40 warn, 50 error
    // The database is closed last: after the socket's terminate (and the upload it stored).
    const messages = app.lines.map((line) => /"msg":"([^"]+)"/.exec(line)?.[1]).filter((msg) => msg === 'echo socket closed' || msg === 'blog database closed');
    expect(messages).toEqual(['echo socket closed', 'blog database closed']);
    console.info(`[28] SIGTERM → socket closed 1001, upload finished with 201, exit 0 after ${exitMs} ms`);
  }, 30_000);
});
