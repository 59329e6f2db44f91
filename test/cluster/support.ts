// What the worker tests share: a primary in a child process whose channel the test's own apps use
// (a cluster in one process, over real IPC), and `vela start` running fixtures/app.ts on real
// workers, with the process that served each answer. Everything started here is killed after the file.
import { fork, type ChildProcess } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, afterEach } from 'vitest';
import type { ClusterPort } from 'vela';
import { CliProcess, SOURCE_CLI, root } from '../cli/support.js';

const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const primaries = new Set<ChildProcess>();
const commands = new Set<CliProcess>();

afterEach(async () => {
  await Promise.all([...commands].map((command) => command.stop('SIGKILL')));
  commands.clear();
});

afterAll(() => {
  for (const child of primaries) child.kill('SIGKILL');
  primaries.clear();
});

export interface ForkedPrimary {
  /** The test's end of the primary's IPC channel: give it to clusterPubSub({ port }) and clusterSessionStore({ port }). */
  readonly port: ClusterPort;
  /** Moves the clock of the primary's session store (in order with the requests sent before and after). */
  advance(ms: number): void;
  /** Kills the primary (SIGKILL, as a crash) and resolves once it exited and its channel closed. */
  kill(): Promise<void>;
}

/** A primary of its own (fixtures/primary.ts), relaying for the apps of this process that use its port. */
export async function forkPrimary(): Promise<ForkedPrimary> {
  const child = fork(fileURLToPath(new URL('./fixtures/primary.ts', import.meta.url)), [], {
    execArgv: ['--import', TSX],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  primaries.add(child);
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`the primary exited with ${code} before it was ready`)));
  });
  // Both: the process is gone, and so is this end of its channel (the apps' links heard it first: they listened earlier).
  const gone = Promise.all([new Promise((resolve) => child.once('exit', resolve)), new Promise((resolve) => child.once('disconnect', resolve))]);
  return {
    port: child as unknown as ClusterPort,
    advance: (ms) => void child.send({ advance: ms }),
    kill: async () => {
      child.kill('SIGKILL');
      await gone;
    },
  };
}

/** What a fixture route answered, and by which process; `cookie`: the session cookie it set, if any. */
export interface Answer {
  readonly pid: number;
  readonly body: Record<string, unknown>;
  readonly cookie?: string;
}

/** `vela start test/cluster/fixtures/app.mjs --workers N` on a free port, once every worker listens. */
export class Workers {
  readonly command: CliProcess;
  readonly url: string;

  private constructor(command: CliProcess, url: string) {
    this.command = command;
    this.url = url;
  }

  /** `entry`: another app than fixtures/app.mjs (from the repository's root); `env`: more variables for it. */
  static async start(workers: number, { entry = 'test/cluster/fixtures/app.mjs', env = {} }: { entry?: string; env?: Record<string, string> } = {}): Promise<Workers> {
    const command = new CliProcess(SOURCE_CLI, ['start', entry, '--workers', String(workers)], {
      cwd: root,
      env: { PORT: '0', LOG_LEVEL: 'warn', NODE_ENV: 'test', ...env },
    });
    commands.add(command);
    const [, url] = await command.next(/vela start: \d+ workers? listening on (http:\S+)/, 30_000);
    return new Workers(command, url!);
  }

  /**
   * One request on a connection of its own (node:cluster hands each new connection to the next
   * worker; fetch would keep one alive and always reach the same one). `cookie`: the session's.
   */
  request(method: 'GET' | 'POST', path: string, body?: unknown, cookie?: string): Promise<Answer> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { ...(cookie ? { cookie } : {}), ...(payload ? { 'content-type': 'application/json' } : {}) };
    return new Promise((resolve, reject) => {
      const req = httpRequest(`${this.url}${path}`, { method, headers, agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          if (res.statusCode !== 200 && res.statusCode !== 201) return reject(new Error(`${method} ${path} answered ${res.statusCode}: ${text}`));
          const answer = JSON.parse(text) as Record<string, unknown>;
          const cookies = res.headers['set-cookie']?.map((cookie) => cookie.split(';')[0]).join('; ');
          resolve({ pid: answer.pid as number, body: answer, cookie: cookies || undefined });
        });
      });
      req.on('error', reject);
      req.end(payload);
    });
  }
}
