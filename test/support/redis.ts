// The real Redis the project's machines run on 127.0.0.1:6379. Off CI, tests that need it skip and
// say why when it is not running; in CI (CI=true, where .ci/run starts it) a missing Redis fails.
import { randomBytes } from 'node:crypto';
import { Socket } from 'node:net';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

function reachable(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(Number(port || 6379), hostname, () => done(true));
  });
}

export const redisMissing = (await reachable(REDIS_URL))
  ? undefined
  : `Redis tests skipped: nothing answers at ${REDIS_URL} (start redis-server, or set REDIS_URL)`;

if (redisMissing) {
  if (process.env.CI === 'true') throw new Error(`${redisMissing}; CI must run them.`);
  console.warn(redisMissing);
}

/** A key prefix of its own per test, so tests sharing one Redis never see each other's keys. */
export function uniquePrefix(): string {
  return `vela-test:${randomBytes(6).toString('hex')}`;
}
