// The history redisPubSub keeps: one Redis Stream per history channel, so any node can replay it and
// it outlives the node that published. Appending and publishing are ONE Lua script (XADD, then PUBLISH
// on the channel's shard, SPUBLISH on a cluster, whose keys share the shard's slot: keyspace.ts), so
// the order of the stream is the order every node receives in. Positions are
// `<epoch>:<ms>-<n>`, the entry's stream id after the channel's epoch: `n` counts the channel's
// messages without gaps (whether the kept entries cover a gap is arithmetic), `ms` is Redis's clock,
// which the ttl trims by (XTRIM MINID). The epoch is made when the channel's meta key is missing,
// so a FLUSHALL, an eviction or a channel idle past its ttl starts a new one: old positions then
// cannot match and recover nothing (`recovered: false`), rather than point into a new count.
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { HistoryOptions } from '../pubsub/history.js';
import type { PubSubMessage } from '../pubsub/message.js';
import type { Keyspace } from './keyspace.js';
import { decodeWire } from './wire.js';

/** How long a channel's keys outlive its last message beyond the ttl (then it starts a new epoch). */
const IDLE_KEYS_MS = 60_000;

// KEYS: meta, stream, the channel's carrier. ARGV: wire, a new epoch, size, ttl, how long the keys live,
// the publishing command (PUBLISH, or SPUBLISH on a cluster).
// The position goes into the published wire as its first key, `p` (wire.ts reads it).
const APPEND = `
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  epoch = ARGV[2]
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'epoch', epoch, 'n', 0, 'ms', 0)
end
local time = redis.call('TIME')
local ms = math.max(tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000), tonumber(redis.call('HGET', KEYS[1], 'ms')))
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
local id = string.format('%d-%d', ms, n)
redis.call('HSET', KEYS[1], 'ms', string.format('%d', ms))
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], id, 'w', ARGV[1])
redis.call('XTRIM', KEYS[2], 'MINID', '~', string.format('%d', ms - tonumber(ARGV[4])))
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
local position = epoch .. ':' .. id
redis.call(ARGV[6], KEYS[3], '{"p":"' .. position .. '",' .. string.sub(ARGV[1], 2))
return position
`;

// KEYS: meta, stream. ARGV: epoch, stream id after which to read, its n, size, ttl.
// Returns the entries after that id, or false when they are not all kept.
const SINCE = `
local meta = redis.call('HMGET', KEYS[1], 'epoch', 'n')
if meta[1] ~= ARGV[1] then return false end
local missed = tonumber(meta[2]) - tonumber(ARGV[3])
if missed < 0 or missed > tonumber(ARGV[4]) then return false end
if missed == 0 then return {} end
local entries = redis.call('XRANGE', KEYS[2], '(' .. ARGV[2], '+', 'COUNT', missed)
if #entries ~= missed then return false end
local ms, n = string.match(entries[1][1], '^(%d+)-(%d+)$')
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
if tonumber(n) ~= tonumber(ARGV[3]) + 1 or tonumber(ms) < now - tonumber(ARGV[5]) then return false end
return entries
`;

const POSITION = /^([0-9a-f]{1,32}):(([0-9]{1,15})-([0-9]{1,15}))$/;

interface HistoryCommands {
  velaHistoryAppend(meta: string, stream: string, carrier: string, wire: string, epoch: string, size: number, ttl: number, keep: number, command: string): Promise<string>;
  velaHistorySince(meta: string, stream: string, epoch: string, after: string, n: string, size: number, ttl: number): Promise<[string, string[]][] | null>;
}

/** The scripts, defined once per connection (ioredis sends EVALSHA, and the script when Redis lacks it). */
function commands(redis: Redis): HistoryCommands {
  if (!('velaHistoryAppend' in redis)) {
    redis.defineCommand('velaHistoryAppend', { numberOfKeys: 3, lua: APPEND });
    redis.defineCommand('velaHistorySince', { numberOfKeys: 2, lua: SINCE });
  }
  return redis as unknown as HistoryCommands;
}

/** Unique per call: a random part per process, then a count. */
const epochBase = randomBytes(6).toString('hex');
let epochs = 0;

/** Keeps `wire` (a message envelope) in its channel's stream and publishes it on its carrier with its position. */
export function appendToHistory(redis: Redis, keys: Keyspace, channel: string, wire: string, { size, ttl }: HistoryOptions): Promise<string> {
  const { meta, stream, carrier } = keys.history(channel);
  const epoch = `${epochBase}${(epochs++).toString(16)}`;
  return commands(redis).velaHistoryAppend(meta, stream, carrier, wire, epoch, size, ttl, ttl + IDLE_KEYS_MS, keys.clustered ? 'SPUBLISH' : 'PUBLISH');
}

/** The messages of `channel` after `position`, or undefined when the stream does not hold all of them. */
export async function readHistory(redis: Redis, keys: Keyspace, channel: string, position: string, { size, ttl }: HistoryOptions): Promise<PubSubMessage[] | undefined> {
  const parsed = POSITION.exec(position);
  if (!parsed) return undefined;
  const [, epoch, after, , n] = parsed as unknown as [string, string, string, string, string];
  const { meta, stream } = keys.history(channel);
  const entries = await commands(redis).velaHistorySince(meta, stream, epoch, after, n, size, ttl);
  if (!entries) return undefined;
  const messages: PubSubMessage[] = [];
  for (const [id, fields] of entries) {
    const decoded = decodeWire(fields[1] ?? '');
    if (!decoded.ok || decoded.envelope.type !== 'message') throw new Error(`history entry ${id} of '${channel}' cannot be read: ${decoded.ok ? 'not a message' : decoded.reason}`);
    messages.push({ ...decoded.envelope.message, position: `${epoch}:${id}` });
  }
  return messages;
}

/**
 * The history channels this node appended to lately, so that it reports what their streams hold
 * (the `vela.history.messages` metric) without scanning Redis. Each node reports the channels it
 * publishes on: a channel published on from several nodes is reported by each of them.
 */
export class HistorySizes {
  /** Channel → when its keys expire if nothing more is appended. */
  readonly #channels = new Map<string, number>();

  appended(channel: string, { ttl }: HistoryOptions): void {
    this.#channels.set(channel, Date.now() + ttl + IDLE_KEYS_MS);
  }

  /** XLEN of each stream, sent together (one command each: on a cluster the streams live on several primaries). */
  async read(redis: Redis, keys: Keyspace): Promise<[string, number][]> {
    const now = Date.now();
    for (const [channel, expires] of this.#channels) if (expires < now) this.#channels.delete(channel);
    if (this.#channels.size === 0) return [];
    const channels = [...this.#channels.keys()];
    const lengths = await Promise.all(channels.map((channel) => redis.xlen(keys.history(channel).stream)));
    return channels.map((channel, i) => [channel, lengths[i]!]);
  }
}
