// The seam between Vela's pub/sub and whatever links several processes. The core owns local
// delivery, ordering and membership on this node; an adapter only carries envelopes between nodes
// and answers who the members are elsewhere. In-memory (one process) by default; Redis for clusters.
import type { Logger } from '../logging/logger.js';
import type { HealthState } from '../app/health-options.js';
import type { PubSubHistory } from './history.js';
import type { Envelope } from './message.js';
import type { AnswerStore } from './answer-store.js';
import type { PresenceStore } from '../presence/presence-store.js';
import type { BusMeter } from '../telemetry/metrics-pubsub.js';

/** This node, as an adapter sees it. */
export interface PubSubNode {
  /** Unique per running app; adapters use it to skip their own echoes. */
  readonly id: string;
  /** The app's logger, for outages and dropped messages. */
  readonly logger: Logger;
  /**
   * Delivers an envelope that another node published, to this node's members. `publishedAt`, when
   * the adapter carries it: the publisher's clock at publish, in epoch ms (the bus and fan-out lag).
   */
  receive(envelope: Envelope, publishedAt?: number): void;
  /** Where the adapter counts, for the app's metrics, what it could not carry and what never arrived. */
  readonly bus?: BusMeter;
  /** Connection ids that joined `channel` on this node. */
  localMembers(channel: string): string[];
  /** Channels with at least one connection on this node (for adapters that publish membership). */
  localChannels(): string[];
}

export interface PubSubAdapter {
  /** For log lines and errors, e.g. 'memory' or 'redis'. */
  readonly name: string;
  /** Called once by bootstrap, before the server listens. */
  start(node: PubSubNode): Promise<void>;
  /**
   * Carries the envelope to every other node, in publish order; never back to this one. An envelope
   * it cannot encode is refused by throwing PubSubEncodingError synchronously, before sending
   * anything (the caller is told, and nothing is delivered anywhere); a rejected promise is a failure
   * to carry it, which the Hub logs.
   */
  publish(envelope: Envelope): Promise<void>;
  /** Connection ids in `channel` on the other nodes. */
  remoteMembers(channel: string): Promise<string[]>;
  /** A connection joined or left `channel` on this node (adapters that track membership listen). */
  membershipChanged?(channel: string): void;
  /**
   * `channel` got its first member or `subscribe()` listener on this node (`interested`), or lost its
   * last. An adapter that routes by interest (redisPubSub) starts or stops bringing the channel's
   * messages here; for a start it returns a promise that settles (never rejecting) once messages
   * published from then on reach this node, or undefined when they already do.
   */
  interest?(channel: string, interested: boolean): Promise<void> | undefined;
  /** Where answers to requests are remembered for repeats, shared by the nodes. Default: this process's memory. */
  answers?(): AnswerStore;
  /** Keeps the history of history channels; an adapter without it cannot serve `@Module({ channels })`. */
  readonly history?: PubSubHistory;
  /** Keeps every node's presence metas for `Presence.list` and `count`; an adapter without it cannot track presence. */
  readonly presence?: PresenceStore;
  /** Called by `app.close()`: stop carrying, forget this node's members. */
  stop(): Promise<void>;
  /** Whether it can carry messages now (its connections' status), for bootstrap's `health` endpoint. Without it: up. */
  health?(): HealthState;
}
