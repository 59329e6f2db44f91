// Coalesces presence changes into diffs: the changes a node makes within one window (50 ms by default)
// become one `presence_diff` per channel, so a reconnect storm of thousands of clients makes a
// handful of broadcasts, not thousands. A meta that joins and leaves within the window cancels out.
// A diff waits for the store writes of its changes, so that a list read after it includes them.
import type { PresenceDiff, PresenceRow } from './presence-list.js';
import { toPresenceList } from './presence-list.js';

interface Pending {
  readonly joins: Map<string, PresenceRow>;
  readonly leaves: Map<string, PresenceRow>;
  readonly writes: Promise<unknown>[];
}

export class DiffWindow {
  readonly #window: number;
  readonly #publish: (channel: string, diff: PresenceDiff) => Promise<void>;
  #pending = new Map<string, Pending>();
  #timer?: NodeJS.Timeout;
  #flushing: Promise<void> = Promise.resolve();

  /** `window` in ms: the longest a change waits before its diff is published. */
  constructor(window: number, publish: (channel: string, diff: PresenceDiff) => Promise<void>) {
    this.#window = window;
    this.#publish = publish;
  }

  join(channel: string, row: PresenceRow, write?: Promise<unknown>): void {
    const pending = this.#of(channel, write);
    pending.joins.set(row.ref, row);
  }

  leave(channel: string, row: PresenceRow, write?: Promise<unknown>): void {
    const pending = this.#of(channel, write);
    // Joined in this window: nobody heard of it, so nobody needs to hear it left.
    if (!pending.joins.delete(row.ref)) pending.leaves.set(row.ref, row);
  }

  /** Publishes what is pending now, and resolves once every diff so far is out. */
  flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const pending = this.#pending;
    this.#pending = new Map();
    // In order: a diff never overtakes the one before it.
    this.#flushing = this.#flushing.then(() => Promise.all([...pending].map(([channel, changes]) => this.#send(channel, changes)))).then(() => {});
    return this.#flushing;
  }

  #of(channel: string, write: Promise<unknown> | undefined): Pending {
    let pending = this.#pending.get(channel);
    if (!pending) this.#pending.set(channel, (pending = { joins: new Map(), leaves: new Map(), writes: [] }));
    if (write) pending.writes.push(write);
    if (!this.#timer) {
      this.#timer = setTimeout(() => void this.flush(), this.#window);
      this.#timer.unref();
    }
    return pending;
  }

  async #send(channel: string, { joins, leaves, writes }: Pending): Promise<void> {
    await Promise.allSettled(writes);
    if (joins.size === 0 && leaves.size === 0) return;
    await this.#publish(channel, Object.freeze({ joins: toPresenceList(joins.values()), leaves: toPresenceList(leaves.values()) }));
  }
}
