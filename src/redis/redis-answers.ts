// Remembered answers in Redis, so a repeated request is answered once across the cluster: the
// repeat may land on another node than the first. `<prefix>:answer:<client>:<ref>` (the client id in
// a hash tag on a cluster: keyspace.ts) holds 'p' while the first is handled (claimed with SET NX, a
// short TTL its node keeps refreshing), then the answer for the window. A repeat that finds 'p' polls with backoff; if the marker expires with no answer,
// the node handling the first died: the repeat is answered `unavailable`, never run twice.
// Each client's refs are a sorted set by time, so the oldest beyond ANSWERS_PER_CLIENT go.
import type { Redis } from 'ioredis';
import { ANSWERS_PER_CLIENT, FIRST, UNAVAILABLE, type AnswerStore, type Claim } from '../pubsub/answer-store.js';
import type { Keyspace } from './keyspace.js';

const PENDING = 'p';
const ANSWER = 'a';
/** Answered, but not kept (too big). */
const NOT_KEPT = 'u';
const CLAIMED = 'c';

/** Claims the key, or returns what it holds. */
const CLAIM = `if redis.call('SET', KEYS[1], '${PENDING}', 'NX', 'PX', ARGV[1]) then return '${CLAIMED}' end
return redis.call('GET', KEYS[1])`;

/** Stores the answer, adds its ref to the client's set and drops what is past the window or the cap. */
const SETTLE = `redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', tonumber(ARGV[3]) - tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[2], ARGV[2])
local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[5])
if over > 0 then
  for _, ref in ipairs(redis.call('ZRANGE', KEYS[2], 0, over - 1)) do redis.call('DEL', ARGV[6] .. ref) end
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, over - 1)
end`;

/** How long a claim outlives its node's last refresh (it refreshes every third of it). */
export const CLAIM_TTL = 5_000;
const FIRST_POLL_MS = 5;
const LONGEST_POLL_MS = 250;

export class RedisAnswerStore implements AnswerStore {
  readonly #keys: Keyspace;
  readonly #redis: () => Redis;
  /** The claims this node is handling, each kept alive until settled. */
  readonly #refreshers = new Map<string, NodeJS.Timeout>();

  constructor(keys: Keyspace, redis: () => Redis) {
    this.#keys = keys;
    this.#redis = redis;
  }

  async claim(client: string, ref: string, window: number): Promise<Claim> {
    const key = this.#key(client, ref);
    const found = (await this.#redis().eval(CLAIM, 1, key, CLAIM_TTL)) as string;
    if (found === CLAIMED) {
      this.#keepAlive(key);
      return FIRST;
    }
    return this.#await(key, found, Date.now() + window);
  }

  async settle(client: string, ref: string, answer: string | undefined, window: number): Promise<void> {
    const key = this.#key(client, ref);
    clearInterval(this.#refreshers.get(key));
    this.#refreshers.delete(key);
    const value = answer === undefined ? NOT_KEPT : ANSWER + answer;
    const refs = this.#keys.answers(client);
    await this.#redis().eval(SETTLE, 2, key, refs, value, window, Date.now(), ref, ANSWERS_PER_CLIENT, this.#key(client, ''));
  }

  /** Stops refreshing claims (the app is closing: their handlers' answers will not be stored either). */
  stop(): void {
    for (const timer of this.#refreshers.values()) clearInterval(timer);
    this.#refreshers.clear();
  }

  /** Polls a key another node holds with backoff until it holds an answer, or its claim is gone. */
  async #await(key: string, value: string | null, deadline: number): Promise<Claim> {
    for (let wait = FIRST_POLL_MS; value === PENDING && Date.now() < deadline; wait = Math.min(wait * 2, LONGEST_POLL_MS)) {
      await new Promise((resolve) => setTimeout(resolve, wait));
      value = await this.#redis().get(key);
    }
    if (value?.startsWith(ANSWER)) return { kind: 'answer', answer: value.slice(ANSWER.length) };
    // Gone while pending (its node died), not kept, or still pending past the window.
    return UNAVAILABLE;
  }

  /** Refreshes the claim's TTL while this node handles it. Sent on the connection settle uses, so never after it. */
  #keepAlive(key: string): void {
    const timer = setInterval(() => void this.#redis().pexpire(key, CLAIM_TTL).catch(() => {}), Math.floor(CLAIM_TTL / 3));
    timer.unref();
    this.#refreshers.set(key, timer);
  }

  #key(client: string, ref: string): string {
    return this.#keys.answer(client, ref);
  }
}
