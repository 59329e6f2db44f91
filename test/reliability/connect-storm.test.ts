// 49. A reconnect storm while the server is busy: a thousand clients connect while its event loop
// is held (a long fan-out), and all of them must be queued by the kernel, not dropped, so they are
// served once the loop is free rather than after SYN retries of 1 s, 3 s, 7 s. Node's default
// listen backlog (511) drops the rest; Vela listens with LISTEN_BACKLOG (capped by somaxconn).
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const CLIENTS = 1_000;
const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));
const cannotQueue = somaxconn < CLIENTS ? `net.core.somaxconn is ${somaxconn}: this kernel cannot queue ${CLIENTS} connections` : undefined;
const app = fileURLToPath(new URL('./fixtures/busy-app.ts', import.meta.url));
const sockets: Socket[] = [];

afterEach(() => {
  for (const socket of sockets.splice(0)) socket.destroy();
});

describe.skipIf(cannotQueue)('49. a connect storm while the server is busy', () => {
  it(`49. queues ${CLIENTS} connections made while the event loop is held, and serves them once it is free`, { timeout: 60_000 }, async () => {
    const server = spawn(process.execPath, ['--import', 'tsx', app], { cwd: fileURLToPath(new URL('../..', import.meta.url)), stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      const lines = createInterface({ input: server.stdout! })[Symbol.asyncIterator]();
      const next = async () => JSON.parse(String((await lines.next()).value)) as { listening?: number; busy?: boolean; free?: boolean };
      const { listening: port } = await next();
      const flag = join(tmpdir(), `vela-busy-${process.pid}-${Date.now()}`);
      server.stdin!.write(`busy ${flag}\n`);
      expect(await next()).toEqual({ busy: true });

      // Every connect completes in the kernel, into the listen queue, while the app accepts nothing.
      // A dropped one would retry its SYN after 1 s, 3 s…: the wait gives up (and fails) after 10 s.
      let connected = 0;
      const all = Promise.all(
        Array.from({ length: CLIENTS }, () => {
          const socket = connect(port!, '127.0.0.1');
          sockets.push(socket);
          return new Promise<void>((resolve) => socket.once('connect', () => resolve(void (connected += 1))));
        }),
      );
      let giveUp: NodeJS.Timeout | undefined;
      await Promise.race([all, new Promise((resolve) => (giveUp = setTimeout(resolve, 10_000)))]);
      clearTimeout(giveUp);
      expect(connected).toBe(CLIENTS);

      writeFileSync(flag, '');
      expect(await next()).toEqual({ free: true });
      // Each queued connection is then served: a request on every one gets its answer.
      const answers = await Promise.all(
        sockets.map(
          (socket) =>
            new Promise<string>((resolve) => {
              let got = '';
              socket.on('data', (chunk: Buffer) => {
                got += chunk.toString();
                if (got.includes('pong')) resolve(got.split('\r\n')[0]!);
              });
              socket.write('GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
            }),
        ),
      );
      expect(new Set(answers)).toEqual(new Set(['HTTP/1.1 200 OK']));
    } finally {
      server.kill('SIGKILL');
    }
  });
});
