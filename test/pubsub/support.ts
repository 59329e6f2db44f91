// What the pub/sub tests share: a gateway a test drives over the wire (join, broadcast, members… as
// JSON calls; every @OnInfo relayed back as JSON; its client is peer.ts), and a way to reach an
// app's Hub without widening the App.
import {
  Injectable,
  Module,
  OnInfo,
  OnMessage,
  PubSub,
  WebSocket,
  json,
  memoryPubSub,
  reply,
  type Connection,
  type PubSubAdapter,
  type PubSubMessage,
} from 'vela';
import type { Hub } from '../../src/pubsub/hub.js';

/** Idle timeout of the test gateway: long enough never to fire, distinctive enough to find its timers. */
export const IDLE_MS = 3_599_999;

/** Counts terminated connections, so a test awaits the server-side close instead of sleeping. */
@Injectable()
export class Tracker {
  readonly #terminated = new Set<string>();
  readonly #waiters = new Set<() => void>();

  get terminatedCount(): number {
    return this.#terminated.size;
  }

  terminated(id: string): void {
    this.#terminated.add(id);
    for (const wake of [...this.#waiters]) wake();
  }

  /** Resolves once every id (or `count` connections in all) has run `terminate`. */
  until(ids: readonly string[] | number, timeoutMs = 5_000): Promise<void> {
    const done = () => (typeof ids === 'number' ? this.#terminated.size >= ids : ids.every((id) => this.#terminated.has(id)));
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(wake);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${JSON.stringify(ids)} to terminate (${this.#terminated.size} did)`));
      }, timeoutMs);
      const wake = () => {
        if (!done()) return;
        clearTimeout(timer);
        this.#waiters.delete(wake);
        resolve();
      };
      this.#waiters.add(wake);
    });
  }
}

/** Holds a handler mid-way until the test releases it: `entered` once one is waiting. */
@Injectable()
export class Gate {
  #enter!: () => void;
  #release!: () => void;
  readonly entered = new Promise<void>((resolve) => (this.#enter = resolve));
  readonly #released = new Promise<void>((resolve) => (this.#release = resolve));

  wait(): Promise<void> {
    this.#enter();
    return this.#released;
  }

  release(): void {
    this.#release();
  }
}

interface Call {
  ref: number;
  op: string;
  args: Record<string, unknown>;
}

type Sender = 'broadcast' | 'broadcastFrom' | 'localBroadcast';

/** Runs one call against the connection's own PubSub, as a user's gateway code would. */
async function perform(pubsub: PubSub, { op, args }: Call, gate?: Gate): Promise<unknown> {
  const channel = args.channel as string;
  switch (op) {
    case 'join':
      return pubsub.join(channel);
    case 'joinAfterGate':
      // A handler that joins once something it awaited is done, e.g. a room loaded from a database.
      await gate!.wait();
      return pubsub.join(channel);
    case 'leave':
      return pubsub.leave(channel);
    case 'broadcast':
    case 'broadcastFrom':
    case 'localBroadcast':
      return pubsub[op](channel, args.topic as string, args.payload);
    case 'members':
      return (await pubsub.members(channel)).sort();
    case 'localMembers':
      return pubsub.localMembers(channel).sort();
    case 'burst': {
      // `count` messages from one handler without awaiting in between: the order the hub and the
      // adapter must keep is the call order.
      const method = args.method as Sender;
      const sent: unknown[] = [];
      for (let seq = 0; seq < (args.count as number); seq += 1) sent.push(pubsub[method](channel, args.topic as string, { seq }));
      await Promise.all(sent);
      return undefined;
    }
    default:
      throw new Error(`unknown op ${op}`);
  }
}

/**
 * `/pubsub?join=a,b` joins those channels in init and greets with `{ hello: id }`; a JSON event
 * `call` runs one PubSub method and answers `{ ack: ref, result }` (or `{ ack: ref, error }`); every
 * info is sent back as it arrived.
 */
@WebSocket('/pubsub', { idleTimeout: IDLE_MS })
export class PubSubGateway {
  #id = '';

  constructor(
    private readonly pubsub: PubSub,
    private readonly tracker: Tracker,
    private readonly gate: Gate,
  ) {}

  init(conn: Connection) {
    this.#id = conn.id;
    const join = conn.request.query.join;
    if (typeof join === 'string') for (const channel of join.split(',')) this.pubsub.join(channel);
    return reply(json({ hello: conn.id }));
  }

  @OnMessage('call')
  async call(call: Call) {
    try {
      const result = await perform(this.pubsub, call, this.gate);
      return reply(json({ ack: call.ref, result: result ?? null }));
    } catch (error) {
      return reply(json({ ack: call.ref, error: (error as Error).message }));
    }
  }

  @OnInfo()
  relay(message: PubSubMessage) {
    return reply(json(message));
  }

  terminate() {
    this.tracker.terminated(this.#id);
  }
}

/**
 * Filtered @OnInfo: the first handler whose filter matches takes the message; each answers
 * `{ handler, message }` so the test sees which one ran.
 */
@WebSocket('/filtered')
export class FilteredGateway {
  constructor(private readonly pubsub: PubSub) {}

  init(conn: Connection) {
    return reply(json({ hello: conn.id }));
  }

  @OnMessage('call')
  async call(call: Call) {
    const result = await perform(this.pubsub, call);
    return reply(json({ ack: call.ref, result: result ?? null }));
  }

  @OnMessage('self')
  self(message: unknown, conn: Connection) {
    conn.info(message);
  }

  @OnInfo({ channel: 'news', topic: 'flash' })
  newsFlash(message: PubSubMessage) {
    return reply(json({ handler: 'newsFlash', message }));
  }

  @OnInfo({ topic: 'flash' })
  anyFlash(message: PubSubMessage) {
    return reply(json({ handler: 'anyFlash', message }));
  }

  @OnInfo({ channel: 'news' })
  anyNews(message: PubSubMessage) {
    return reply(json({ handler: 'anyNews', message }));
  }

  @OnInfo()
  other(message: unknown) {
    return reply(json({ handler: 'other', message }));
  }
}

/** A gateway whose only @OnInfo is filtered: anything else is ignored. */
@WebSocket('/only-flash')
export class OnlyFlashGateway {
  constructor(private readonly pubsub: PubSub) {}

  init(conn: Connection) {
    this.pubsub.join('news');
    return reply(json({ hello: conn.id }));
  }

  @OnMessage()
  ignore() {}

  @OnInfo({ topic: 'flash' })
  flash(message: PubSubMessage) {
    return reply(json({ handler: 'flash', message }));
  }
}

/** A service: its PubSub is the app's, with no connection of its own. */
@Injectable()
export class NewsService {
  constructor(readonly pubsub: PubSub) {}
}

@Module({ gateways: [PubSubGateway, FilteredGateway, OnlyFlashGateway], providers: [Tracker, Gate, NewsService] })
export class PubSubTestModule {}

/**
 * The node an adapter is started with is the app's Hub: wrapping the adapter is how a test reaches
 * the Hub's `sizes` without anything test-only in the App.
 */
export function withHub(adapter: PubSubAdapter = memoryPubSub()): { adapter: PubSubAdapter; hub: () => Hub } {
  let node: Hub | undefined;
  const wrapped: PubSubAdapter = {
    name: adapter.name,
    start: (started) => {
      node = started as Hub;
      return adapter.start(started);
    },
    publish: (envelope) => adapter.publish(envelope),
    remoteMembers: (channel) => adapter.remoteMembers(channel),
    membershipChanged: adapter.membershipChanged && ((channel) => adapter.membershipChanged!(channel)),
    interest: adapter.interest && ((channel, interested) => adapter.interest!(channel, interested)),
    stop: () => adapter.stop(),
  };
  return {
    adapter: wrapped,
    hub: () => {
      if (!node) throw new Error('the adapter was not started: pass it to start(Module, { pubsub: adapter })');
      return node;
    },
  };
}

/**
 * Retries `probe` until `accept` holds. Only for state that converges without an event to await
 * (cluster membership over a real network); in memory it holds at the first try.
 */
export async function eventually<T>(probe: () => T | Promise<T>, accept: (value: T) => boolean, what: string, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (accept(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Sorted copies, so membership compares as a set. */
export function sorted(ids: readonly string[]): string[] {
  return [...ids].sort();
}

export { Peer, connectMany, type Peers } from './peer.js';
