// Presence shared through Redis. Per channel, a hash of its metas (ref → JSON [key, node, meta]) and
// a hash counting the metas of each key, so `count()` is one HLEN; per node, an index (ref → channel)
// to find its metas when it goes; and `<prefix>:presence-nodes`, each node scored by when it is due
// to have refreshed. Every change is one Lua script, so the hashes and the index always agree.
//
// A node refreshes every third of `presenceTimeout` and, in the same script, reads which nodes are
// overdue: it sweeps their metas (one script per dead node, which also takes it out of the set, so
// only one survivor sweeps it) and broadcasts them as leaves. A SIGKILLed node's presence is thus
// gone within `presenceTimeout` plus a third, plus the diff window. A node that finds itself missing
// from the set (Redis restarted or lost the keys, or it was swept while paused) puts its metas back
// and broadcasts them as joins; one whose write failed (Redis away) puts them back on its next beat.
//
// Scripts are sent with EVAL, not EVALSHA: after a Redis restart ioredis would answer NOSCRIPT by
// re-sending the script later, behind the commands that followed it, and a remove could overtake
// its put. The scripts name the keys of a node's metas themselves, so on a Redis Cluster every
// presence key carries the `{<prefix>}` hash tag (keyspace.ts): one slot, whose primary runs them.
import type { Redis } from 'ioredis';
import type { Logger } from '../logging/logger.js';
import type { PresenceRow } from '../presence/presence-list.js';
import type { PresenceChange, PresenceNode, PresenceStore } from '../presence/presence-store.js';

// Removes the meta `ref` of the channel whose keys are rows/counts, and its line in the node's index.
const DROP = `
local function drop(rows, counts, index, ref)
  local value = redis.call('HGET', rows, ref)
  if not value then return false end
  redis.call('HDEL', rows, ref)
  redis.call('HDEL', index, ref)
  local key = cjson.decode(value)[1]
  if redis.call('HINCRBY', counts, key, -1) <= 0 then redis.call('HDEL', counts, key) end
  return value
end
`;

// KEYS: rows, counts, index. ARGV: ref, key, value, channel, the ref it replaces ('' for none).
const PUT = `${DROP}
if ARGV[5] ~= '' then drop(KEYS[1], KEYS[2], KEYS[3], ARGV[5]) end
if redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) == 1 then redis.call('HINCRBY', KEYS[2], ARGV[2], 1) end
redis.call('HSET', KEYS[3], ARGV[1], ARGV[4])
`;

// KEYS: rows, counts, index. ARGV: ref.
const REMOVE = `${DROP} drop(KEYS[1], KEYS[2], KEYS[3], ARGV[1])`;

// KEYS: nodes. ARGV: this node, timeout. Returns { 1 if this node was missing, overdue nodes }.
const BEAT = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local added = redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return { added, redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now) }
`;

// KEYS: nodes. ARGV: prefix, node, mode: 'dead' (only if still overdue), 'stop', 'resync' (keeps its place in nodes).
// Returns the node's metas it removed, as channel, ref, value triples.
const SWEEP = `${DROP}
if ARGV[3] == 'dead' then
  local score = redis.call('ZSCORE', KEYS[1], ARGV[2])
  local time = redis.call('TIME')
  if not score or tonumber(score) > tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000) then return {} end
end
if ARGV[3] ~= 'resync' then redis.call('ZREM', KEYS[1], ARGV[2]) end
local index = ARGV[1] .. ':presence-node:' .. ARGV[2]
local entries = redis.call('HGETALL', index)
local removed = {}
for i = 1, #entries, 2 do
  local ref, channel = entries[i], entries[i + 1]
  local value = drop(ARGV[1] .. ':presence:' .. channel, ARGV[1] .. ':presence-keys:' .. channel, index, ref)
  if value then
    removed[#removed + 1] = channel
    removed[#removed + 1] = ref
    removed[#removed + 1] = value
  end
end
redis.call('DEL', index)
return removed
`;

export interface RedisPresenceSettings {
  /** The prefix of every presence key: `{<prefix>}` on a cluster (Keyspace.group). */
  readonly prefix: string;
  /** How long a node's metas outlive its last refresh, in ms. */
  readonly timeout: number;
  /** The adapter's publishing connection, once it started. */
  readonly redis: () => Redis;
  readonly logger: () => Logger;
}

export class RedisPresence implements PresenceStore {
  readonly #settings: RedisPresenceSettings;
  #node?: PresenceNode;
  #timer?: NodeJS.Timeout;
  #beats = 0;
  /** A write failed: Redis may be missing some of this node's changes, so they are all put again. */
  #dirty = false;

  constructor(settings: RedisPresenceSettings) {
    this.#settings = settings;
  }

  async start(node: PresenceNode): Promise<void> {
    this.#node = node;
    await this.#beat();
    this.#timer = setInterval(() => void this.#beat(), Math.max(Math.floor(this.#settings.timeout / 3), 1));
    this.#timer.unref();
  }

  put(node: string, channel: string, row: PresenceRow, replaces = ''): Promise<void> {
    const value = JSON.stringify([row.key, node, row.meta]);
    return this.#write(this.#eval(PUT, this.#keys(node, channel), row.ref, row.key, value, channel, replaces));
  }

  remove(node: string, channel: string, ref: string): Promise<void> {
    return this.#write(this.#eval(REMOVE, this.#keys(node, channel), ref));
  }

  async list(channel: string): Promise<PresenceRow[]> {
    const rows = await this.#settings.redis().hgetall(`${this.#settings.prefix}:presence:${channel}`);
    return Object.entries(rows).map(([ref, value]) => toRow(ref, value));
  }

  count(channel: string): Promise<number> {
    return this.#settings.redis().hlen(`${this.#settings.prefix}:presence-keys:${channel}`);
  }

  async stop(node: string): Promise<void> {
    clearInterval(this.#timer);
    // Redis away: the other nodes sweep this one within presenceTimeout, as if it had died.
    if (this.#settings.redis().status !== 'ready') return;
    try {
      await this.#sweep(node, 'stop');
    } catch (error) {
      this.#settings.logger().warn('could not remove this node\'s presence from Redis; other nodes sweep it within presenceTimeout', { error });
    }
  }

  #keys(node: string, channel: string): string[] {
    const { prefix } = this.#settings;
    return [`${prefix}:presence:${channel}`, `${prefix}:presence-keys:${channel}`, `${prefix}:presence-node:${node}`];
  }

  #eval(script: string, keys: readonly string[], ...args: (string | number)[]): Promise<unknown> {
    return this.#settings.redis().eval(script, keys.length, ...keys, ...args);
  }

  /** A failed write is not the caller's to handle: it is logged, and the next beat puts everything back. */
  async #write(command: Promise<unknown>): Promise<void> {
    try {
      await command;
    } catch (error) {
      this.#dirty = true;
      this.#settings.logger().debug('presence write to Redis failed; this node puts its presence back on its next refresh', { error });
    }
  }

  async #beat(): Promise<void> {
    const node = this.#node!;
    try {
      const [added, overdue] = (await this.#eval(BEAT, [this.#nodesKey], node.id, this.#settings.timeout)) as [number, string[]];
      const lost = added === 1 && this.#beats > 0;
      this.#beats += 1;
      if (lost || this.#dirty) await this.#resync(lost);
      for (const dead of overdue) {
        const removed = await this.#sweep(dead, 'dead');
        if (removed.length > 0) node.removed(removed);
      }
    } catch (error) {
      this.#dirty = true;
      this.#settings.logger().debug('presence refresh in Redis failed; retried on the next one', { error });
    }
  }

  /** Puts this node's metas back, exactly: what Redis holds of it is replaced by what it tracks now. */
  async #resync(announce: boolean): Promise<void> {
    this.#dirty = false;
    const changes = [...this.#node!.tracked()];
    // Sent in one go, in order, so no later untrack can run before the put it undoes.
    const sent = [this.#sweep(this.#node!.id, 'resync'), ...changes.map(({ channel, row }) => this.put(this.#node!.id, channel, row))];
    await Promise.all(sent);
    if (this.#dirty) return;
    this.#settings.logger().info('presence put back in Redis', { metas: changes.length });
    if (announce) this.#node!.restored(changes);
  }

  async #sweep(node: string, mode: 'dead' | 'stop' | 'resync'): Promise<PresenceChange[]> {
    const removed = (await this.#eval(SWEEP, [this.#nodesKey], this.#settings.prefix, node, mode)) as string[];
    const changes: PresenceChange[] = [];
    for (let i = 0; i < removed.length; i += 3) changes.push({ channel: removed[i]!, row: toRow(removed[i + 1]!, removed[i + 2]!) });
    return changes;
  }

  get #nodesKey(): string {
    return `${this.#settings.prefix}:presence-nodes`;
  }
}

function toRow(ref: string, value: string): PresenceRow {
  const [key, , meta] = JSON.parse(value) as [string, string, PresenceRow['meta']];
  return { ref, key, meta };
}
