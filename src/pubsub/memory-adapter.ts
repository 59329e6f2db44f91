// The embedded default: one process is the whole cluster, so there is nothing to carry. Several apps
// in one process can share a MemoryBus to act as a cluster, which is how the adapter contract tests
// (and users' own multi-node tests) run without Redis. Envelopes are handed over as they are, not
// encoded: an app alone on its bus (the default) pays nothing, and its local members get any value.
// A bus shared by several apps stands in for Redis, so it refuses what Redis would (a BigInt, a
// cycle: see portable-envelope.ts) and a multi-node test catches it before production does.
import type { PubSubAdapter, PubSubNode } from './adapter.js';
import type { HistoryOptions } from './history.js';
import type { Envelope, PubSubMessage, TraceCarrier } from './message.js';
import { MemoryHistory } from './memory-history.js';
import { portableEnvelope } from './portable-envelope.js';
import { MemoryAnswerStore } from './answer-store.js';
import { MemoryPresence } from '../presence/memory-presence.js';

const DONE = Promise.resolve();

/** Links the apps that share it, as Redis links processes. */
export class MemoryBus {
  readonly #nodes = new Set<PubSubNode>();
  #answers?: MemoryAnswerStore;

  /** The answers to requests remembered by the apps on this bus, which answer each other's repeats. */
  get answers(): MemoryAnswerStore {
    return (this.#answers ??= new MemoryAnswerStore());
  }
  /** The history of history channels, shared by the apps on this bus. */
  readonly history = new MemoryHistory();
  /** The presence metas tracked by the apps on this bus. */
  readonly presence = new MemoryPresence();

  attach(node: PubSubNode): void {
    this.#nodes.add(node);
  }

  detach(node: PubSubNode): void {
    this.#nodes.delete(node);
  }

  /** Throws PubSubEncodingError, with nothing delivered, for an envelope Redis could not carry either. */
  publish(from: PubSubNode, envelope: Envelope): void {
    if (this.#nodes.size > 1) portableEnvelope(envelope);
    this.#carry(from, envelope);
  }

  /** Keeps `message` in the history, then publishes it with its position (and `tc`, its trace context); returns the position. */
  publishKept(from: PubSubNode, message: PubSubMessage, options: HistoryOptions, tc?: TraceCarrier): string {
    if (this.#nodes.size > 1) portableEnvelope({ type: 'message', message }); // refused before it is kept
    const positioned = this.history.append(message, options);
    this.#carry(from, tc ? { type: 'message', message: positioned, tc } : { type: 'message', message: positioned });
    return positioned.position!;
  }

  #carry(from: PubSubNode, envelope: Envelope): void {
    if (this.#nodes.size < 2) return;
    const publishedAt = from.bus?.clock() || undefined;
    // Delivered after the publisher's own synchronous work, as a network would; microtasks keep order.
    for (const node of this.#nodes) if (node !== from) queueMicrotask(() => node.receive(envelope, publishedAt));
  }

  membersElsewhere(from: PubSubNode, channel: string): string[] {
    return [...this.#nodes].filter((node) => node !== from).flatMap((node) => node.localMembers(channel));
  }
}

export interface MemoryPubSubOptions {
  /** Share one bus between apps in the same process to make them one cluster. Default: a bus of its own. */
  bus?: MemoryBus;
}

/** In-memory pub/sub: the default, no setup needed. */
export function memoryPubSub(options: MemoryPubSubOptions = {}): PubSubAdapter {
  const bus = options.bus ?? new MemoryBus();
  let self: PubSubNode | undefined;
  return {
    name: 'memory',
    async start(node) {
      if (self) throw new Error('This memoryPubSub() adapter is already used by an app; create one per app.');
      self = node;
      bus.attach(node);
    },
    publish(envelope) {
      if (self) bus.publish(self, envelope); // not async: a refused envelope throws in the caller
      return DONE;
    },
    history: {
      append: (message, options, tc) => bus.publishKept(self!, message, options, tc),
      since: (channel, position) => bus.history.since(channel, position),
      sizes: () => bus.history.sizes(),
    },
    async remoteMembers(channel) {
      return self ? bus.membersElsewhere(self, channel) : [];
    },
    answers: () => bus.answers,
    presence: bus.presence,
    async stop() {
      if (self) bus.detach(self);
    },
  };
}
