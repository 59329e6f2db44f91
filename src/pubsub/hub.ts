// This node's half of pub/sub and Comms: who joined which channel, which sockets belong to which
// session, and local delivery. Delivery is synchronous, in call order, and encodes a frame once
// for all the sockets it reaches; the adapter carries the same envelope to the other nodes.
import type { Logger } from '../logging/logger.js';
import { FrameEncoder, type Frame } from '../ws/frames.js';
import type { PubSubAdapter, PubSubNode } from './adapter.js';
import { PubSubEncodingError } from './encoding-error.js';
import { Coalescer, type Merge } from './coalescer.js';
import { deliverInSlices } from './sliced-delivery.js';
import { SessionSockets } from './session-sockets.js';
import { CommsDelivery } from './comms-delivery.js';
import { Listening } from './listening.js';
import { PublishOrder, type HistoryOptions, type JoinResult } from './history.js';
import type { Envelope, PubSubMessage, TraceCarrier } from './message.js';
import { endPublish, startDeliver, startPublish, type BusNode } from '../telemetry/bus-spans.js';
import { runIn, tracingOn } from '../telemetry/tracer.js';
import { METRICS_OFF } from '../telemetry/metrics.js';
import type { BusMeter, PubSubMeter } from '../telemetry/metrics-pubsub.js';

/** Something that can be in a channel: a connection, or a `subscribe()` listener (id null). */
export interface Member {
  readonly id: string | null;
  deliver(message: PubSubMessage): void;
  /**
   * Called by `pubsub.join` once the member joined: a connection that came back with a position for
   * `channel` replays what it missed (ws/recovery.ts); undefined when there is nothing to recover.
   */
  recover?(channel: string): Promise<JoinResult> | undefined;
}

/** A live WebSocket connection on this node, as pub/sub and Comms reach it. */
export interface LocalConnection extends Member {
  readonly id: string;
  readonly sessionId: string | undefined;
  send(frame: Frame): boolean;
  info(message: unknown): void;
}

const DONE = Promise.resolve();
const NO_HISTORY = (): undefined => undefined;
const NO_PATTERN = (): undefined => undefined;

interface PublishOptions {
  except?: Member;
  local?: boolean;
  history?: false;
}

export class Hub implements PubSubNode {
  readonly id: string;
  /**
   * Encodes a frame once for every socket a delivery reaches. This node's connections send through
   * it, so a reply made inside one of its deliveries shares that delivery's bytes.
   */
  readonly encoder = new FrameEncoder();
  readonly #adapter: PubSubAdapter;
  readonly #logger: Logger;
  readonly #channels = new Map<string, Set<Member>>();
  /**
   * Delivery iterates a snapshot of a channel's members (see #deliver). It is kept until the
   * membership changes, so a busy channel is not copied on every broadcast.
   */
  readonly #snapshots = new Map<string, readonly Member[]>();
  readonly #joined = new Map<Member, Set<string>>();
  readonly #connections = new Set<LocalConnection>();
  #coalescer?: Coalescer;
  /** The sockets of each session on this node, for Comms. */
  readonly #sessions = new SessionSockets<LocalConnection>();
  /** Comms' delivery to this node's sockets (pubsub/comms.ts sends through it). */
  readonly comms: CommsDelivery<LocalConnection>;
  /** The history settings of a channel (`@Module({ channels })`), undefined for an ordinary one. */
  readonly historyOf: (channel: string) => HistoryOptions | undefined;
  readonly #publishOrder = new PublishOrder();
  /** Told of every connection that closes, after it left its channels (presence untracks it). */
  readonly #onDisconnected: ((connection: LocalConnection) => void)[] = [];
  /** What this node's spans say of it (telemetry/bus-spans.ts). */
  readonly #traced: BusNode;
  readonly #meter: PubSubMeter;
  /** When this node hears each channel from the other nodes (interest routing). */
  readonly listening: Listening;

  /** `patternOf`: the `@Module({ channels })` key a channel falls under, for span names. */
  constructor(
    id: string,
    adapter: PubSubAdapter,
    logger: Logger,
    historyOf: (channel: string) => HistoryOptions | undefined = NO_HISTORY,
    patternOf: (channel: string) => string | undefined = NO_PATTERN,
    meter: PubSubMeter = METRICS_OFF().pubsub,
  ) {
    this.id = id;
    this.#adapter = adapter;
    this.#logger = logger;
    this.historyOf = adapter.history ? historyOf : NO_HISTORY;
    this.#traced = { id, patternOf };
    this.comms = new CommsDelivery(id, this.#sessions, this.#connections, this.encoder);
    this.#meter = meter;
    this.listening = new Listening(adapter);
  }

  get logger(): Logger {
    return this.#logger;
  }

  /** Where the adapter counts what the bus dropped and missed, for the app's metrics. */
  get bus(): BusMeter {
    return this.#meter;
  }

  start(): Promise<void> {
    return this.#adapter.start(this);
  }

  stop(): Promise<void> {
    this.#coalescer?.flush();
    return this.#adapter.stop();
  }

  /** Sizes of every internal map: what a leak test checks is back to zero. */
  get sizes(): { channels: number; snapshots: number; members: number; connections: number; sessions: number } {
    return {
      channels: this.#channels.size,
      snapshots: this.#snapshots.size,
      members: this.#joined.size,
      connections: this.#connections.size,
      sessions: this.#sessions.size,
    };
  }

  join(channel: string, member: Member): void {
    // Only an open connection joins: an async handler may still call join() after its socket
    // closed (and left everything), and that connection would otherwise stay a member for ever.
    if (member.id !== null && !this.#connections.has(member as LocalConnection)) return;
    let members = this.#channels.get(channel);
    if (!members) this.#channels.set(channel, (members = new Set()));
    if (members.has(member)) return;
    members.add(member);
    if (members.size === 1) this.listening.started(channel);
    this.#snapshots.delete(channel);
    let channels = this.#joined.get(member);
    if (!channels) this.#joined.set(member, (channels = new Set()));
    channels.add(channel);
    if (member.id !== null) this.#adapter.membershipChanged?.(channel);
  }

  leave(channel: string, member: Member): void {
    const members = this.#channels.get(channel);
    if (!members?.delete(member)) return;
    this.#snapshots.delete(channel);
    if (members.size === 0 && this.#channels.delete(channel)) this.listening.stopped(channel);
    const channels = this.#joined.get(member)!;
    channels.delete(channel);
    if (channels.size === 0) this.#joined.delete(member);
    if (member.id !== null) this.#adapter.membershipChanged?.(channel);
  }

  leaveAll(member: Member): void {
    for (const channel of [...(this.#joined.get(member) ?? [])]) this.leave(channel, member);
  }

  connected(connection: LocalConnection): void {
    this.#connections.add(connection);
    this.#sessions.add(connection);
  }

  /** Whether `connection` is open on this node (an async handler may still run after its socket closed). */
  isConnected(connection: LocalConnection): boolean {
    return this.#connections.has(connection);
  }

  /** Calls `listener` for every connection that closes, before its `terminate`. */
  whenDisconnected(listener: (connection: LocalConnection) => void): void {
    this.#onDisconnected.push(listener);
  }

  disconnected(connection: LocalConnection): void {
    this.leaveAll(connection);
    this.#connections.delete(connection);
    for (const listener of this.#onDisconnected) listener(connection);
    this.#sessions.delete(connection);
  }

  /**
   * Hands the message to the adapter for the other nodes (unless `local`), then delivers it here.
   * A payload the adapter cannot encode fails the whole broadcast before anyone has it: the promise
   * rejects with PubSubEncodingError (see #refuse). A failure to carry it is logged, never thrown.
   * `history: false` keeps a message out of a history channel's history (presence diffs: a client
   * that recovers gets the whole presence state again, not replayed diffs).
   */
  publish(message: PubSubMessage, options: PublishOptions = {}): Promise<void> {
    if (!tracingOn()) return this.#publish(message, options, undefined);
    // Traced: the delivery here runs under the publish span; the other nodes get its context.
    const { span, context, carrier } = startPublish(message, this.#traced, options.local === true);
    const carried = runIn(context, this.#publish, this, message, options, carrier);
    endPublish(span, carried);
    return carried;
  }

  /** `tc`: the trace context the envelope carries to the other nodes, when traced. */
  #publish(message: PubSubMessage, options: PublishOptions, tc: TraceCarrier | undefined): Promise<void> {
    const publishedAt = this.#meter.clock();
    const history = options.local || options.history === false ? undefined : this.historyOf(message.channel);
    if (history) return this.#publishKept(message, history, options.except, tc, publishedAt);
    let carried = DONE;
    if (!options.local) {
      try {
        carried = this.forward(tc ? { type: 'message', message, tc } : { type: 'message', message });
      } catch (error) {
        return this.#refuse(message, error as PubSubEncodingError); // the only thing forward throws
      }
    }
    this.#meter.broadcast(message.channel);
    this.#deliver(message, options.except, undefined, publishedAt);
    return carried;
  }

  /**
   * A broadcast on a history channel: the adapter keeps it and carries it with its position, and it is
   * delivered here once that position is known, in publish order. A failure to keep it (Redis away) is
   * logged and it is delivered here without a position, as an ordinary broadcast would be.
   */
  #publishKept(message: PubSubMessage, history: HistoryOptions, except: Member | undefined, tc: TraceCarrier | undefined, publishedAt: number): Promise<void> {
    let position: string | undefined | Promise<string | undefined>;
    try {
      const kept = this.#adapter.history!.append(message, history, tc);
      position = typeof kept === 'string' ? kept : kept.then(undefined, (error: unknown) => this.#notKept(message, error));
    } catch (error) {
      if (error instanceof PubSubEncodingError) return this.#refuse(message, error);
      position = this.#notKept(message, error);
    }
    // Traced, with the publish's own context: a late position may deliver other broadcasts' messages first.
    this.#meter.broadcast(message.channel);
    return this.#publishOrder.run(position, (at) => this.#deliver(at === undefined ? message : Object.freeze({ ...message, position: at }), except, tc, publishedAt));
  }

  #notKept(message: PubSubMessage, error: unknown): undefined {
    this.#logger.error('pub/sub could not keep a history message: delivered on this node only, without a position', {
      adapter: this.#adapter.name,
      channel: message.channel,
      error,
    });
    return undefined;
  }

  /**
   * What was broadcast on `channel` after `position`, or undefined when its history cannot cover the
   * gap. Rejects when the history cannot be read (the caller logs it).
   */
  async historySince(channel: string, position: string): Promise<readonly PubSubMessage[] | undefined> {
    const history = this.historyOf(channel);
    if (!history) return undefined;
    await this.listening.ready(channel); // or a message sent meanwhile would be in neither (listening.ts)
    return this.#adapter.history!.since(channel, position, history);
  }

  /**
   * Carries an envelope to the other nodes. Throws PubSubEncodingError, synchronously and with nothing
   * sent, when it cannot be encoded: that is the caller's to fix. Any other failure (Redis away) is the
   * cluster's: logged, and the promise resolves, so one broadcast never fails for another's outage.
   */
  forward(envelope: Envelope): Promise<void> {
    let sent: Promise<void>;
    try {
      sent = Promise.resolve(this.#adapter.publish(envelope)); // an adapter of the user's may return nothing
    } catch (error) {
      if (error instanceof PubSubEncodingError) throw error;
      sent = Promise.reject(error);
    }
    return sent.then(undefined, (error: unknown) => {
      this.#logger.error('pub/sub could not reach the other nodes', { adapter: this.#adapter.name, type: envelope.type, error });
    });
  }

  /**
   * The rejected promise of a refused broadcast, already marked handled and logged: a caller that
   * does not await its broadcast (`this.pubsub.broadcast(…)` as a handler's last line) must not turn
   * one bad payload into an unhandled rejection, which ends a Node process.
   */
  #refuse(message: PubSubMessage, error: PubSubEncodingError): Promise<void> {
    this.#logger.warn('pub/sub broadcast refused: its payload cannot be encoded for other nodes', {
      channel: message.channel,
      topic: message.topic,
      error: error.message,
    });
    const refused = Promise.reject(error);
    refused.catch(() => {});
    return refused;
  }

  receive(envelope: Envelope, publishedAt?: number): void {
    if (publishedAt !== undefined) this.#meter.carried(publishedAt);
    switch (envelope.type) {
      case 'message':
        // Whatever `tc` holds is only read as strings (tracer.ts): an old node's envelope has none.
        return this.#deliver(envelope.message, undefined, envelope.tc ?? null, publishedAt ?? 0);
      case 'session-send':
      case 'session-info':
      case 'send-all':
        return void this.comms.deliver(envelope, envelope.tc ?? null);
      default:
        this.#logger.warn('pub/sub dropped an envelope of an unknown type', { envelope });
    }
  }

  /** Whether `member` is in `channel` on this node now. */
  isMember(channel: string, member: Member): boolean {
    return this.#channels.get(channel)?.has(member) ?? false;
  }

  localMembers(channel: string): string[] {
    const ids: string[] = [];
    for (const member of this.#channels.get(channel) ?? []) if (member.id !== null) ids.push(member.id);
    return ids;
  }

  localChannels(): string[] {
    return [...this.#channels.keys()].filter((channel) => this.localMembers(channel).length > 0);
  }

  async members(channel: string): Promise<string[]> {
    const remote = await this.#adapter.remoteMembers(channel);
    return [...new Set([...this.localMembers(channel), ...remote])];
  }

  /**
   * Messages of `topic` published by no connection (presence diffs) reach this node's members merged:
   * at most one per channel every `window` ms, whichever nodes they came from, a slice of members at
   * a time (sliced-delivery.ts).
   */
  coalesce(topic: string, merge: Merge, window: number): void {
    this.#coalescer = new Coalescer(topic, merge, window, (message) => {
      const members = this.#channels.get(message.channel);
      if (!members) return 0;
      this.#meter.delivered(message.channel, members.size, 0);
      return deliverInSlices(members, message, (deliver) => this.encoder.encodingOnce(deliver));
    });
  }

  /**
   * `from`: undefined for this node's own broadcast, else the trace context its envelope came with
   * (null: none). `publishedAt`: when the message was published (PubSubMeter.clock), 0 when not measured.
   */
  #deliver(message: PubSubMessage, except: Member | undefined, from: TraceCarrier | null | undefined, publishedAt: number): void {
    if (this.#coalescer?.hold(message)) return;
    if (!tracingOn()) return this.#deliverNow(message, except, publishedAt);
    const members = this.#channels.get(message.channel);
    const reached = members ? members.size - (except && members.has(except) ? 1 : 0) : 0;
    // Every node hears every broadcast: one with no member in the channel has nothing to show.
    if (reached === 0) return this.#deliverNow(message, except, publishedAt);
    const { span, context } = startDeliver(message, this.#traced, from, reached);
    try {
      runIn(context, this.#deliverNow, this, message, except, publishedAt);
    } finally {
      span.end();
    }
  }

  #deliverNow(message: PubSubMessage, except: Member | undefined, publishedAt: number): void {
    const members = this.#channels.get(message.channel);
    if (!members) return;
    let snapshot = this.#snapshots.get(message.channel);
    if (!snapshot) this.#snapshots.set(message.channel, (snapshot = [...members]));
    let delivered = 0;
    this.encoder.encodingOnce(() => {
      // A snapshot: a Set's iterator also visits members added while it runs, so a member that
      // left and re-joined during its own delivery got the message again (and again: a listener
      // that re-subscribes itself looped forever). `has` skips those that left meanwhile.
      for (const member of snapshot) {
        if (member === except || !members.has(member)) continue;
        member.deliver(message);
        delivered += 1;
      }
    });
    // After the loop: a member whose handler answers at once has written its frames by now.
    this.#meter.delivered(message.channel, delivered, publishedAt);
  }
}
