// Issue 9, HTTP failures: what breaks inside the server — a security function that throws, a file
// that changes under sendfile, any error in production — is logged once, answered without a hang
// or a leaked socket, and shows the client nothing of the server's internals. Each case prints its
// figures for notes/reliability/http.md.
import { constants, openSync, closeSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readlink, realpath, rm, symlink, truncate, unlink, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { Agent, request, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  Connection,
  Controller,
  Module,
  OnMessage,
  Route,
  WebSocket,
  HttpError,
  json,
  ok,
  sendfile,
  view,
  type Context,
  type Security,
} from 'vela';
import { connectionCount, rawExchange, timedRequest, trackSockets } from './http-support.js';
import { startTestApp } from 'vela/testing';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempDir(): Promise<string> {
  const dir = await realpath(await mkdtemp(join(tmpdir(), 'vela-reliability-')));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function keepAliveAgent(): Agent {
  const agent = new Agent({ keepAlive: true });
  cleanups.push(() => agent.destroy());
  return agent;
}

const JSON_ACCEPT = { accept: 'application/json' };
const INTERNAL_ERROR = { error: 'Internal Server Error', status: 500 };

interface Interrupted {
  status: number;
  contentLength: number;
  received: number;
  /** Every byte received was the file's (no error text appended to a short body). */
  onlyFileBytes: boolean;
  outcome: 'complete' | 'aborted';
  ms: number;
}

/**
 * GETs a file of `fill` bytes and runs `change` once the first chunk has arrived, with the response
 * paused so the server is still mid-file. Resolves when the response completes or is cut; rejects
 * if neither happens within `hangMs` (a client left waiting for bytes that never come).
 */
function interruptedDownload(url: string, path: string, change: () => Promise<void>, { fill, agent, hangMs = 3000 }: { fill: number; agent: Agent; hangMs?: number }): Promise<Interrupted> {
  const { hostname, port } = new URL(url);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const hang = setTimeout(() => reject(new Error(`GET ${path} neither completed nor failed within ${hangMs} ms: the client hangs`)), hangMs);
    const req = request({ host: hostname, port, path, agent }, (res: IncomingMessage) => {
      let received = 0;
      let onlyFileBytes = true;
      let changed = false;
      const finish = (outcome: Interrupted['outcome']) => {
        clearTimeout(hang);
        resolve({ status: res.statusCode!, contentLength: Number(res.headers['content-length']), received, onlyFileBytes, outcome, ms: performance.now() - started });
      };
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        for (let i = 0; i < chunk.length && onlyFileBytes; i++) onlyFileBytes = chunk[i] === fill;
        if (changed) return;
        changed = true;
        res.pause();
        change().then(() => res.resume(), reject);
      });
      res.on('end', () => finish(res.complete ? 'complete' : 'aborted'));
      res.on('aborted', () => finish('aborted'));
      res.on('error', () => finish('aborted'));
    });
    req.on('error', () => {
      clearTimeout(hang);
      resolve({ status: 0, contentLength: 0, received: 0, onlyFileBytes: true, outcome: 'aborted', ms: performance.now() - started });
    });
    req.end();
  });
}

/** How many of this process's file descriptors are open on files under `dir` (Linux: /proc/self/fd). */
async function openFilesUnder(dir: string): Promise<number> {
  const targets = await Promise.all((await readdir('/proc/self/fd')).map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')));
  return targets.filter((target) => target.startsWith(`${dir}/`)).length;
}

describe('HTTP failures', () => {
  it('14. a security function that throws or rejects answers 500 on a route and on an upgrade, logged once, no socket left', async () => {
    const throws: Security = () => {
      throw new Error('session store down');
    };
    const rejects: Security = () => Promise.reject(new Error('token service unreachable'));
    let reached = 0;
    @Controller()
    class GuardedController {
      @Route('/throws', { security: throws })
      throwing() {
        reached++;
        return json({});
      }

      @Route('/rejects', { security: rejects })
      rejecting() {
        reached++;
        return json({});
      }
    }
    @WebSocket('/ws-throws', { security: throws })
    class ThrowingGateway {
      @OnMessage()
      message(_text: string, _conn: Connection) {}
    }
    @WebSocket('/ws-rejects', { security: rejects })
    class RejectingGateway {
      @OnMessage()
      message(_text: string, _conn: Connection) {}
    }
    @Module({ controllers: [GuardedController], gateways: [ThrowingGateway, RejectingGateway] })
    class AppModule {}
    const app = await startTestApp(AppModule);
    const sockets = trackSockets(app.server);
    expect(await connectionCount(app.server)).toBe(0);

    // HTTP: a keep-alive client, closed at the end, as a browser would.
    const agent = new Agent({ keepAlive: true });
    const rounds = 3;
    for (let i = 0; i < rounds; i++) {
      for (const path of ['/throws', '/rejects']) {
        const res = await timedRequest(app.url, path, { headers: JSON_ACCEPT, agent });
        expect({ path, status: res.status, body: JSON.parse(res.body) as unknown }).toEqual({ path, status: 500, body: INTERNAL_ERROR });
      }
    }
    agent.destroy();
    // Upgrades: through a WebSocket client, and as raw bytes from a client that never closes —
    // the server must close that socket itself after its 500.
    for (const path of ['/ws-throws', '/ws-rejects']) {
      const res = await app.wsRefusal(path, { headers: JSON_ACCEPT });
      expect({ path, status: res.status, body: JSON.parse(res.body) as unknown }).toEqual({ path, status: 500, body: INTERNAL_ERROR });
      const raw = await rawExchange(
        app.url,
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAccept: application/json\r\n\r\n`,
        { end: false },
      );
      expect(raw.statusLine).toBe('HTTP/1.1 500 Internal Server Error');
    }
    await sockets.closed();
    expect(await connectionCount(app.server)).toBe(0);

    expect(reached).toBe(0);
    const lines = app.logs.entries.map((entry) => ({
      level: entry.level,
      message: entry.message,
      controller: entry.fields.controller,
      error: (entry.fields.error as Error).message,
    }));
    const http = (controller: string, error: string) => ({ level: 'error', message: 'request failed', controller, error });
    expect(lines).toEqual([
      ...Array.from({ length: rounds }, () => [
        http('GuardedController.throwing', 'session store down'),
        http('GuardedController.rejecting', 'token service unreachable'),
      ]).flat(),
      http('ThrowingGateway.upgrade', 'session store down'),
      http('ThrowingGateway.upgrade', 'session store down'),
      http('RejectingGateway.upgrade', 'token service unreachable'),
      http('RejectingGateway.upgrade', 'token service unreachable'),
    ]);
    console.log(`[case 14] 500 in ${rounds * 2}/${rounds * 2} HTTP and 4/4 upgrade requests (throw, reject); ${lines.length} error lines for ${rounds * 2 + 4} failures; ${sockets.accepted} sockets accepted, 0 open after the clients closed`);
  });

  it('20. a file truncated, deleted or not a regular file (FIFO) during sendfile: no hang, a clean cut or a 500, logged, server keeps serving', async () => {
    const root = await tempDir();
    const size = 24 << 20; // beyond what socket buffers hold, so the server is mid-file when it changes
    const fill = 0x61;
    @Controller()
    class FilesController {
      @Route('/download/:name')
      download(ctx: Context) {
        return sendfile(ctx.params.name!, { root });
      }
    }
    @Module({ controllers: [FilesController], static: [{ prefix: '/static', dir: root }] })
    class AppModule {}
    const app = await startTestApp(AppModule);
    const sockets = trackSockets(app.server);
    const agent = new Agent({ keepAlive: true });
    await writeFile(join(root, 'small.txt'), 'still serving\n');

    const truncated: Interrupted[] = [];
    for (const [i, path] of ['/download/big-0.bin', '/static/big-1.bin'].entries()) {
      const file = join(root, `big-${i}.bin`);
      await writeFile(file, Buffer.alloc(size, fill));
      const res = await interruptedDownload(app.url, path, () => truncate(file, 0), { fill, agent });
      expect({ path, status: res.status, contentLength: res.contentLength, outcome: res.outcome }).toEqual({ path, status: 200, contentLength: size, outcome: 'aborted' });
      expect(res.received).toBeLessThan(size);
      expect(res.onlyFileBytes).toBe(true);
      truncated.push(res);
      expect((await timedRequest(app.url, '/download/small.txt', { agent })).body).toBe('still serving\n');
    }
    const failures = app.logs.entries.filter((entry) => entry.level === 'error');
    expect(failures.map((entry) => ({ message: entry.message, path: entry.fields.path, controller: entry.fields.controller }))).toEqual([
      { message: 'response failed', path: '/download/big-0.bin', controller: 'FilesController.download' },
      { message: 'response failed', path: '/static/big-1.bin', controller: undefined },
    ]);
    // The server counts what it read before the file ran out; the client got at most that.
    const [, read] = /ended after (\d+) of/.exec((failures[0]!.fields.error as Error).message) ?? [];
    expect((failures[0]!.fields.error as Error).message).toBe(
      `${join(root, 'big-0.bin')} ended after ${read} of ${size} bytes: the file changed (truncated or replaced) while it was sent.`,
    );
    expect(Number(read)).toBeGreaterThanOrEqual(truncated[0]!.received);
    expect(Number(read)).toBeLessThan(size);

    // Deleted mid-send: the open file lives on (POSIX), so the client gets all of it.
    const doomed = join(root, 'doomed.bin');
    await writeFile(doomed, Buffer.alloc(size, fill));
    const deleted = await interruptedDownload(app.url, '/download/doomed.bin', () => unlink(doomed), { fill, agent });
    expect({ outcome: deleted.outcome, received: deleted.received, onlyFileBytes: deleted.onlyFileBytes }).toEqual({ outcome: 'complete', received: size, onlyFileBytes: true });

    // A FIFO would block the open (and a libuv thread) until a writer came: refused before it, 500.
    const fifo = join(root, 'pipe');
    execFileSync('mkfifo', [fifo]);
    cleanups.push(() => {
      // Should a regression leave a reader blocked on the FIFO, a writer releases it.
      try {
        closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
      } catch {
        // ENXIO: no reader waiting, as expected.
      }
    });
    const fifoTimes: number[] = [];
    for (const path of ['/download/pipe', '/static/pipe']) {
      const res = await Promise.race([
        timedRequest(app.url, path, { headers: JSON_ACCEPT }),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`GET ${path} (a FIFO) hangs`)), 2000)),
      ]);
      expect({ path, status: res.status, body: JSON.parse(res.body) as unknown }).toEqual({ path, status: 500, body: INTERNAL_ERROR });
      fifoTimes.push(res.ms);
    }
    const fifoLines = app.logs.entries.filter((entry) => entry.message === 'request failed');
    expect(fifoLines.map((entry) => ({ level: entry.level, path: entry.fields.path, controller: entry.fields.controller, error: (entry.fields.error as Error).message }))).toEqual(
      ['/download/pipe', '/static/pipe'].map((path) => ({
        level: 'error',
        path,
        controller: path.startsWith('/download') ? 'FilesController.download' : undefined,
        error: `${fifo} is a FIFO, not a regular file: sendfile and static routes only serve regular files.`,
      })),
    );

    // A client that leaves mid-file is not a server failure: a debug line, not 'response failed'.
    await writeFile(join(root, 'left.bin'), Buffer.alloc(size, fill));
    await new Promise<void>((resolve, reject) => {
      const req = request(`${app.url}/download/left.bin`, { agent }, (res) => res.once('data', () => (req.destroy(), resolve())));
      req.on('error', (error: NodeJS.ErrnoException) => error.code !== 'ECONNRESET' && reject(error));
      req.end();
    });
    await vi.waitFor(() => expect(app.logs.entries.filter((entry) => entry.message === 'response aborted by the client')).toHaveLength(1));

    expect((await timedRequest(app.url, '/static/small.txt')).body).toBe('still serving\n');
    expect(app.logs.entries.filter((entry) => entry.message === 'response failed')).toHaveLength(2);
    // Every file opened for these responses is closed again, however its response ended.
    await vi.waitFor(async () => expect(await openFilesUnder(root)).toBe(0));
    agent.destroy();
    await sockets.closed();
    expect(await connectionCount(app.server)).toBe(0);
    console.log(
      `[case 20] truncated mid-send: 2/2 responses cut (client saw ${truncated.map((r) => `${Math.round(r.received / 1024)} KiB of 24 MiB, cut after ${Math.round(r.ms)} ms`).join('; ')}), 2 'response failed' lines, 0 hangs; ` +
        `deleted mid-send: complete (24 MiB); FIFO: logged 500 in 2/2 (${fifoTimes.map((ms) => `${Math.round(ms)} ms`).join(', ')}); client abort: 1 debug line, ` +
        `${app.logs.entries.filter((entry) => entry.message === 'unhandled error').length} 'unhandled error' from application.ts; server serves after; 0 files and 0 sockets left open`,
    );
  }, 30_000);

  it('29. in production no stack trace, file path or error message reaches a client, HTML or JSON', async () => {
    const root = await tempDir();
    const views = join(root, 'views');
    await mkdir(views);
    await writeFile(join(views, 'broken.liquid'), '<p>{{ name | nosuchfilter }}</p>\n');
    await symlink('loop', join(root, 'loop')); // stat fails with ELOOP: a 500 from sendfile
    execFileSync('mkfifo', [join(root, 'pipe')]); // not a regular file: a 500 naming it
    const secret = 'hunter2';
    @Controller()
    class ProdController {
      @Route('/throws')
      throws() {
        throw new Error(`db password ${secret} rejected at /srv/app/db.ts:12`);
      }

      @Route('/rejects')
      async rejects() {
        await Promise.resolve();
        throw new TypeError(`Cannot read properties of undefined (reading '${secret}')`);
      }

      @Route('/guarded', {
        security: () => {
          throw new Error(`token store ${secret} down`);
        },
      })
      guarded() {
        return json({});
      }

      @Route('/missing-view')
      missingView() {
        return ok({ name: secret });
      }

      @Route('/broken-view')
      brokenView() {
        return view('broken', { name: secret });
      }

      @Route('/sendfile-loop')
      sendfileLoop() {
        return sendfile('loop', { root });
      }

      @Route('/sendfile-fifo')
      sendfileFifo() {
        return sendfile('pipe', { root });
      }

      @Route('/sendfile-misused')
      sendfileMisused() {
        return sendfile(`/srv/${secret}/report.pdf`, { root, status: 204 });
      }

      @Route('/big')
      big() {
        return sendfile('big.bin', { root });
      }

      @Route('/unclaimed')
      unclaimed() {
        return { [secret]: true };
      }
    }
    @Controller({ prefix: '/pages' })
    class PagesController {
      @Route('/throws')
      throws() {
        throw new Error(`first failure ${secret}`);
      }

      @Route(500)
      failing() {
        throw new Error(`status route failure ${secret}`);
      }
    }
    @Module({ controllers: [ProdController, PagesController] })
    class AppModule {}

    const paths = ['/throws', '/rejects', '/guarded', '/missing-view', '/broken-view', '/sendfile-loop', '/sendfile-fifo', '/sendfile-misused', '/unclaimed', '/pages/throws'];
    const accepts = ['application/json', 'text/html', '*/*', undefined];
    const boot = async (env: string) => {
      const previous = process.env.NODE_ENV;
      process.env.NODE_ENV = env; // read at bootstrap
      try {
        return await startTestApp(AppModule, { views: { dir: views } });
      } finally {
        process.env.NODE_ENV = previous;
      }
    };

    const app = await boot('production');
    const htmlPage =
      '<!doctype html><html><head><meta charset="utf-8"><title>500 Internal Server Error</title></head>' +
      '<body><h1>500 Internal Server Error</h1><p>Internal Server Error</p></body></html>';
    const leaks = [secret, root, process.cwd(), '/srv/', '.ts', '.liquid', 'node_modules', 'ProdController', 'Error:', 'ELOOP'];
    for (const path of paths) {
      for (const accept of accepts) {
        const res = await timedRequest(app.url, path, { headers: accept ? { accept } : {} });
        const where = { path, accept };
        expect({ ...where, status: res.status }).toEqual({ ...where, status: 500 });
        expect({ ...where, body: res.body }).toEqual({ ...where, body: accept === 'text/html' ? htmlPage : JSON.stringify(INTERNAL_ERROR) });
        for (const leak of leaks) expect({ ...where, leak, found: res.body.includes(leak) }).toEqual({ ...where, leak, found: false });
        expect(res.body).not.toMatch(/\bat \S+ \(|:\d+:\d+\)/); // a stack frame
        // Nothing but the page's own headers (a new session may keep its cookie).
        const extra = Object.keys(res.headers).filter((name) => !['connection', 'content-length', 'content-type', 'date', 'keep-alive', 'set-cookie'].includes(name));
        expect({ ...where, extra }).toEqual({ ...where, extra: [] });
      }
    }
    // Every failure is in the log, with what really went wrong.
    const logged = app.logs.entries.filter((entry) => entry.level === 'error').map((entry) => String((entry.fields.error as Error).message));
    const perPath = (fragment: string) => logged.filter((message) => message.includes(fragment)).length;
    expect(perPath(`db password ${secret}`)).toBe(accepts.length);
    expect(perPath('nosuchfilter')).toBe(accepts.length);
    expect(perPath('ELOOP')).toBe(accepts.length);
    expect(perPath('is a FIFO')).toBe(accepts.length);
    expect(perPath(`status route failure ${secret}`)).toBe(accepts.length);

    // A file cut short in production: the client gets file bytes and nothing else.
    const big = join(root, 'big.bin');
    await writeFile(big, Buffer.alloc(24 << 20, 0x62));
    const cut = await interruptedDownload(app.url, '/big', () => truncate(big, 0), { fill: 0x62, agent: keepAliveAgent() });
    expect({ outcome: cut.outcome, onlyFileBytes: cut.onlyFileBytes }).toEqual({ outcome: 'aborted', onlyFileBytes: true });

    // The same app in development shows what production hides: the assertions above can fail.
    const dev = await boot('development');
    const shown = await timedRequest(dev.url, '/throws', { headers: JSON_ACCEPT });
    const body = JSON.parse(shown.body) as { error: string; stack?: string };
    expect(body.error).toContain(secret);
    expect(body.stack).toMatch(/\bat \S+ \(/);
    console.log(`[case 29] ${paths.length} failing routes × ${accepts.length} Accept values = ${paths.length * accepts.length}/${paths.length * accepts.length} generic 500 bodies, 0 of ${leaks.length} leak markers found; ${logged.length} error lines keep the details; development shows them`);
  });

  it('36. a thrown 4xx shows its message and headers only when it says expose: true (as Koa), in production', async () => {
    const secret = 'tenant 7 row 42 violates constraint users_email_key';
    @Controller()
    class ErrorsController {
      @Route('/plain')
      plain() {
        // What a database driver or library may throw: a status, a detailed message, its own headers.
        throw Object.assign(new Error(secret), { status: 400, headers: { 'x-db-node': 'pg-3' } });
      }
      @Route('/exposed')
      exposed() {
        throw Object.assign(new Error('Title is required'), { status: 422, expose: true, headers: { 'retry-after': '5' } });
      }
      @Route('/private')
      private() {
        throw Object.assign(new Error(secret), { statusCode: 409, expose: false, headers: { 'x-db-node': 'pg-3' } });
      }
      @Route('/vela')
      vela() {
        throw new HttpError(403, 'You do not own this post');
      }
      @Route('/echo', { methods: ['post'] })
      echo(ctx: Context) {
        return json(ctx.request.body);
      }
    }
    @Module({ controllers: [ErrorsController] })
    class AppModule {}
    const previous = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production'; // read at bootstrap
    const app = await startTestApp(AppModule).finally(() => (process.env.NODE_ENV = previous));

    const seen = async (path: string) => {
      const res = await timedRequest(app.url, path, { headers: JSON_ACCEPT });
      return { status: res.status, body: JSON.parse(res.body) as unknown, dbNode: res.headers['x-db-node'], retryAfter: res.headers['retry-after'] };
    };
    expect(await seen('/plain')).toEqual({ status: 400, body: { error: 'Bad Request', status: 400 }, dbNode: undefined, retryAfter: undefined });
    expect(await seen('/private')).toEqual({ status: 409, body: { error: 'Conflict', status: 409 }, dbNode: undefined, retryAfter: undefined });
    expect(await seen('/exposed')).toEqual({ status: 422, body: { error: 'Title is required', status: 422 }, dbNode: undefined, retryAfter: '5' });
    // 4xx errors Vela makes itself (HttpError, body parsing) expose their message by default.
    expect(await seen('/vela')).toMatchObject({ status: 403, body: { error: 'You do not own this post', status: 403 } });
    const malformed = await timedRequest(app.url, '/echo', { method: 'POST', headers: { ...JSON_ACCEPT, 'content-type': 'application/json' }, body: '{' });
    expect(malformed.status).toBe(400);
    expect((JSON.parse(malformed.body) as { error: string }).error).toMatch(/^Request body could not be parsed: .*JSON/);
    // The hidden details stay in the log for the developer.
    const refused = app.logs.entries.filter((entry) => entry.message === 'request refused').map((entry) => String(entry.fields.error));
    expect(refused.filter((message) => message.includes(secret))).toHaveLength(2);
  });
});
