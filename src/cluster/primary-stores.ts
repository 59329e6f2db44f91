// What the primary of `vela start` keeps for all its workers, in memory: the history of history
// channels, presence metas, the answers to requests and the sessions, with the operations workers
// ask for by name (cluster-stores.ts and cluster-adapter.ts are the asking side). The primary never
// reads an envelope: a history message is kept as the wire string its worker sent, and handed back
// as it came.
import { MemoryAnswerStore, type Claim } from '../pubsub/answer-store.js';
import { MemoryHistory } from '../pubsub/memory-history.js';
import { MemoryPresence } from '../presence/memory-presence.js';
import type { PresenceRow } from '../presence/presence-list.js';
import type { PresenceChange } from '../presence/presence-store.js';
import { memorySessionStore } from '../session/memory-store.js';
import type { SaveOptions, SessionData, SessionStore } from '../session/store.js';

/** One operation a worker may ask for: its arguments as they came over the channel. */
export type Operation = (args: readonly unknown[]) => unknown;

interface Claimed {
  readonly client: string;
  readonly ref: string;
  readonly window: number;
}

export class PrimaryStores {
  readonly #history = new MemoryHistory();
  readonly #presence = new MemoryPresence();
  readonly #answers = new MemoryAnswerStore();
  readonly #sessions: SessionStore;
  /** Per node, the requests it claimed and has not answered yet, by answer-store key. */
  readonly #claims = new Map<string, Map<string, Claimed>>();
  readonly #operations: ReadonlyMap<string, Operation>;

  constructor(sessions: SessionStore = memorySessionStore()) {
    this.#sessions = sessions;
    const text = (value: unknown, name: string): string => {
      if (typeof value !== 'string') throw new TypeError(`${name} must be a string`);
      return value;
    };
    const count = (value: unknown, name: string): number => {
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new TypeError(`${name} must be a number ≥ 0`);
      return value;
    };
    const store = this.#sessions;
    this.#operations = new Map<string, Operation>([
      ['history.since', ([channel, position]) => this.#since(text(channel, 'channel'), text(position, 'position'))],
      ['history.sizes', () => [...this.#history.sizes()]],
      ['presence.put', ([node, channel, row, replaces]) => this.#presence.put(text(node, 'node'), text(channel, 'channel'), row as PresenceRow, (replaces as string | null) ?? undefined)],
      ['presence.remove', ([node, channel, ref]) => this.#presence.remove(text(node, 'node'), text(channel, 'channel'), text(ref, 'ref'))],
      ['presence.list', ([channel]) => this.#presence.list(text(channel, 'channel'))],
      ['presence.count', ([channel]) => this.#presence.count(text(channel, 'channel'))],
      ['presence.stop', ([node]) => this.#presence.stop(text(node, 'node'))],
      ['answers.claim', ([node, client, ref, window]) => this.#claim(text(node, 'node'), text(client, 'client'), text(ref, 'ref'), count(window, 'window'))],
      ['answers.settle', ([client, ref, answer, window]) => this.#settle(text(client, 'client'), text(ref, 'ref'), (answer as string | null) ?? undefined, count(window, 'window'))],
      ['session.load', ([id]) => store.load(text(id, 'id'))],
      ['session.save', ([id, data, ttl, options]) => store.save(text(id, 'id'), data as SessionData, count(ttl, 'ttl'), options as SaveOptions)],
      ['session.update', ([id, data, ttl]) => (store.update ? store.update(text(id, 'id'), data as SessionData, count(ttl, 'ttl')) : false)],
      ['session.touch', ([id, ttl]) => store.touch(text(id, 'id'), count(ttl, 'ttl'))],
      ['session.destroy', ([id]) => store.destroy(text(id, 'id'))],
      ['session.secret', () => store.secret?.()],
    ]);
  }

  /** The operation a worker asked for by `name`, or undefined for a name this primary does not know. */
  operation(name: string): Operation | undefined {
    return this.#operations.get(name);
  }

  /**
   * Keeps a history message (its worker's wire string) and returns its position. The primary relays
   * it with that position in the same step, so every worker delivers in the order of the history.
   */
  append(channel: string, wire: string, size: number, ttl: number): string {
    // The wire string rides as the payload of a message of its channel: MemoryHistory reads nothing else.
    return this.#history.append({ channel, sender: null, topic: '', payload: wire }, { size, ttl }).position!;
  }

  /** A node left or died: its pending claims are answered `unavailable`; its presence metas are returned, removed. */
  forget(node: string): PresenceChange[] {
    const claims = this.#claims.get(node);
    this.#claims.delete(node);
    for (const { client, ref, window } of claims?.values() ?? []) this.#answers.settle(client, ref, undefined, window);
    return this.#presence.removeNode(node);
  }

  /** Stops the session store's sweep timer. */
  async close(): Promise<void> {
    await this.#sessions.close?.();
  }

  #since(channel: string, position: string): [string, string][] | null {
    const kept = this.#history.since(channel, position);
    return kept ? kept.map((message) => [message.payload as string, message.position!]) : null;
  }

  #claim(node: string, client: string, ref: string, window: number): Claim | Promise<Claim> {
    const claim = this.#answers.claim(client, ref, window);
    if (!('then' in claim) && claim.kind === 'first') {
      let claims = this.#claims.get(node);
      if (!claims) this.#claims.set(node, (claims = new Map()));
      claims.set(`${client}\n${ref}`, { client, ref, window });
    }
    return claim;
  }

  #settle(client: string, ref: string, answer: string | undefined, window: number): void {
    for (const claims of this.#claims.values()) if (claims.delete(`${client}\n${ref}`)) break;
    this.#answers.settle(client, ref, answer, window);
  }
}
