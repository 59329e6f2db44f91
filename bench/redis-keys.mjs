// The Redis side of the benches that run on Redis (bench/cross-node.mjs, bench/history.mjs): each
// run works under key prefixes of its own and deletes the keys under them at the end, also when it
// ends early (its exit hook runs `node bench/redis-keys.mjs flush PREFIX…`, a short synchronous
// child, since an exit hook cannot wait for Redis). Never FLUSHALL: other sessions share the server.
import { execSync, spawnSync } from 'node:child_process';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A bench's key prefix: `<name>-bench-<what>-<run id>`, what `flush` agrees to delete. */
const PREFIX = /^[a-z]+-bench-[a-z-]+-[a-z0-9-]+$/;

const self = new URL(import.meta.url).pathname;

export async function openRedis() {
  const { Redis } = await import('ioredis');
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false, retryStrategy: () => null });
  redis.on('error', () => {});
  await redis.connect();
  return redis;
}

/** Deletes the keys under each prefix (SCAN MATCH prefix*, never FLUSHALL); returns how many, and how many are left. */
export async function flushKeys(redis, prefixes) {
  const scan = async (prefix) => {
    const keys = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    return keys;
  };
  let deleted = 0;
  for (const prefix of prefixes) {
    const keys = await scan(prefix);
    if (keys.length > 0) deleted += await redis.del(...keys);
  }
  let left = 0;
  for (const prefix of prefixes) left += (await scan(prefix)).length;
  return { deleted, left };
}

/**
 * Deletes the keys under `prefixes()` when this process exits, unless `done()` says the run already
 * deleted them; `label` names the bench in what it prints.
 */
export function flushOnExit(label, prefixes, done) {
  process.on('exit', () => {
    if (done()) return;
    spawnSync(process.execPath, [self, 'flush', label, ...prefixes()], { stdio: 'inherit', timeout: 10_000 });
  });
}

/** The local Redis server's pids (its CPU is the benchmark's own work); none if it is elsewhere. */
export function redisServerPids() {
  try {
    return execSync('pgrep -x redis-server', { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** `node bench/redis-keys.mjs flush LABEL PREFIX…`: what flushOnExit runs. */
async function flushMain(label, prefixes) {
  if (prefixes.length === 0 || prefixes.some((p) => !PREFIX.test(p))) {
    console.error(`flush: refusing prefixes ${JSON.stringify(prefixes)}`);
    process.exit(2);
  }
  try {
    const redis = await openRedis();
    const { deleted, left } = await flushKeys(redis, prefixes);
    console.error(`${label}: deleted ${deleted} Redis keys of this run (${left} left)`);
    redis.disconnect();
  } catch (error) {
    console.error(`${label}: could not delete this run's Redis keys (${prefixes.map((p) => `${p}*`).join(', ')}): ${error.message}`);
    process.exitCode = 1;
  }
}

if (process.argv[1] === self && process.argv[2] === 'flush') await flushMain(process.argv[3], process.argv.slice(4));
