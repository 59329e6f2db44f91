// One WebSocket connection as an Erlang-style process: its own gateway instance (the state) and a
// mailbox that runs init, frames, infos and terminate one at a time, in arrival order. A handler
// that answers synchronously is applied at once, without a microtask hop; an async one holds the
// mailbox until it settles, so a slow handler can never reorder replies. Frames are read and
// dispatched here; writing them is its base class's job (socket-writer.ts).
import { WebSocket, type RawData } from 'ws';
import type { Logger } from '../logging/logger.js';
import type { Fallback } from '../http/fallback.js';
import { isTagged } from '../http/results.js';
import { Connection, type CloseReason, type ConnectionDriver, type ConnectionIdentity } from './connection.js';
import { checkClose, ClientAnswer, HEARTBEAT_PING, isAck, parseEvent, previewText, RefusedFrame } from './frames.js';
import { errorAnswer, notFound, okAnswer, type RequestMemory } from './requests.js';
import { ServerRequests, type RequestOptions } from './server-requests.js';
import { WsError } from './ws-error.js';
import { resolveByFallback } from './gateway-fallback.js';
import { infoHandlerFor, type GatewayDefinition } from './gateway-table.js';
import { jobLabel, type Callable, type Job } from './mailbox-job.js';
import { jobFailed, queued, runJob } from '../telemetry/ws-spans.js';
import type { Hub, LocalConnection } from '../pubsub/hub.js';
import type { PubSubMessage } from '../pubsub/message.js';
import { positionMarker, Resumption, type JoinResult } from './recovery.js';
import { deliverSynchronously, frameTurn, FRAMES_PER_TURN } from './frame-budget.js';
import { RateLimiter } from './limiter.js';
import { SocketWriter } from './socket-writer.js';
import { beat, PONG } from './heartbeat.js';
import { isThenable } from '../http/thenable.js';
import type { GatewayMeter } from '../telemetry/metrics.js';

/** What a process needs from the app: built once per gateway at bootstrap, shared by its connections. */
export interface GatewayRuntime {
  definition: GatewayDefinition;
  /** A new gateway instance for this connection (dependency injection, PubSub bound to it). */
  createGateway: (process: GatewayProcess) => unknown;
  /** Pub/sub and Comms on this node: the connection registers on open and leaves everything on close. */
  hub: Hub;
  /** Told once a connection's `terminate` has run, so its server can forget it. */
  terminated?: (process: GatewayProcess) => void;
  /** The gateway's (or its module's) @FallbackController, for returns that are not frame results. */
  fallback?: Fallback;
  logger: Logger;
  /** The deepest nesting an event frame's JSON may have: the app's `body.jsonDepth`. */
  jsonDepth: number;
  /** The app's memory of answers, for requests repeated after a reconnect. */
  requests: RequestMemory;
  /** The gateway's metrics (telemetry/metrics.ts). */
  meter: GatewayMeter;
}

/**
 * ws's WebSocket with a slot for the process that owns it. The listeners a process puts on its
 * socket are shared functions that find their process here (ws calls a listener with the socket as
 * `this`), not closures made per socket: for an idle socket, the closures, their context and a
 * `once` wrapper cost more than the process itself.
 */
export class GatewaySocket extends WebSocket {
  owner: GatewayProcess | undefined = undefined;
}

export class GatewayProcess extends SocketWriter<GatewayRuntime> implements ConnectionDriver, LocalConnection {
  readonly connection: Connection;

  /** Jobs that arrived while one was running; made on the first such job (most sockets never need one). */
  #queue: Job[] | undefined;
  #gateway?: Record<string, Callable | undefined>;
  #busy = false;
  /** Set when a close was asked for or the socket closed: later frames and infos are dropped. */
  #closing = false;
  /** The socket's byte count at the last heartbeat ping; -1 before the first one. */
  #readAtPing = -1;
  #idleTimer?: NodeJS.Timeout;
  /** Only for a gateway with a rateLimit. */
  readonly #limiter?: RateLimiter;
  /** The turn (see frame-budget.ts) of the last frame read, and how many came in it. */
  #readIn = -1;
  #framesInTurn = 0;
  /** Set once `terminate` has run; waiters are only kept when someone waits (app.close). */
  #done = false;
  #waiters?: (() => void)[];
  /** The client's `vela_client` id: its requests' answers are remembered. */
  readonly #clientId: string | undefined;
  /** Requests to the client (`conn.request`), from the first one on. */
  #requests?: ServerRequests;
  /** Only for a client that came back with history positions (`vela_pos`). */
  readonly #resumption?: Resumption;

  constructor(ws: GatewaySocket, runtime: GatewayRuntime, identity: ConnectionIdentity) {
    super(ws, runtime);
    this.connection = new Connection(identity.id, identity.request, identity.auth, identity.sessionId, this);
    this.#clientId = identity.clientId;

    ws.owner = this;
    ws.on('message', GatewayProcess.#onMessage);
    ws.on('error', GatewayProcess.#onError);
    // on, not once: ws emits 'close' once anyway, and once() adds a wrapper per socket.
    ws.on('close', GatewayProcess.#onSocketClose);
    // Protocol pings count against the limit too; ws has answered each one before this listener runs.
    if (runtime.definition.rateLimit) {
      this.#limiter = new RateLimiter(runtime.definition.rateLimit);
      ws.on('ping', GatewayProcess.#onPing);
    }

    const { idleTimeout } = runtime.definition;
    if (idleTimeout > 0) this.#idleTimer = setTimeout(() => this.close(1000, 'idle timeout'), idleTimeout).unref();
    if (identity.positions) this.#resumption = new Resumption(this, runtime.hub, identity.positions);
    runtime.hub.connected(this);
    this.#post({ kind: 'init' });
  }

  /** Settles once `terminate` has run (or failed): nothing of the connection is left. */
  get terminated(): Promise<void> {
    if (this.#done) return Promise.resolve();
    return new Promise((resolve) => (this.#waiters ??= []).push(resolve));
  }

  get id(): string {
    return this.connection.id;
  }

  get sessionId(): string | undefined {
    return this.connection.sessionId;
  }

  /** A pub/sub message for this connection's @OnInfo. */
  deliver(message: PubSubMessage): void {
    if (!this.#resumption?.holds(message)) this.info(message);
  }

  /** `pubsub.join` on a history channel this client has a position for replays what it missed. */
  recover(channel: string): Promise<JoinResult> | undefined {
    return this.#resumption?.join(channel);
  }

  get open(): boolean {
    return !this.#closing && this.ws.readyState === WebSocket.OPEN;
  }

  info(message: unknown): void {
    if (!this.#closing) this.#post({ kind: 'info', message });
  }

  close(code = 1000, reason = ''): void {
    checkClose(code, reason);
    if (this.#closing) return;
    this.#closing = true;
    this.ws.close(code, reason);
  }

  request(event: string, data: unknown, options?: RequestOptions): Promise<unknown> {
    return (this.#requests ??= new ServerRequests(this)).request(event, data, options);
  }

  /** Called by the gateway's heartbeat sweep (heartbeat.ts): a peer that missed the last ping is cut. */
  heartbeat(): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    const read = beat(this.ws, this.#readAtPing);
    if (read === undefined) return this.cut('heartbeat', 'websocket peer missed a heartbeat', {});
    this.#readAtPing = read;
  }

  /** Cuts the socket without a close handshake (shutdown deadline passed). */
  kill(): void {
    this.ws.terminate();
  }

  static #onMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
    ownerOf(this).#onFrame(data, isBinary);
  }

  /** ws reports protocol errors (oversized frame → 1009, bad UTF-8 → 1007) here, then closes. */
  static #onError(this: WebSocket, error: Error): void {
    const owner = ownerOf(this);
    owner.runtime.logger.warn('websocket closed on a protocol error', owner.fields({ error: error.message }));
  }

  static #onSocketClose(this: WebSocket, code: number, reason: Buffer): void {
    ownerOf(this).#onClose(code, reason.toString());
  }

  static #onPing(this: WebSocket): void {
    const owner = ownerOf(this);
    if (!owner.#closing && !owner.#limiter!.take()) owner.#overRate();
  }

  #onFrame(data: RawData, isBinary: boolean): void {
    this.runtime.meter.received += 1;
    this.#pace();
    if (this.#closing) return;
    if (this.#limiter && !this.#limiter.take()) return this.#overRate();
    this.#idleTimer?.refresh();
    const { binary, text, events } = this.runtime.definition;
    if (isBinary) {
      if (binary) this.#post({ kind: 'message', handler: binary, payload: data });
      else this.#ignore('a binary frame');
      return;
    }
    const payload = data.toString();
    // Answered here, not queued: a busy handler must not make a live link look dead.
    if (payload === HEARTBEAT_PING) {
      this.write(PONG);
      return;
    }
    if (events.size > 0 || this.#requests) {
      const event = parseEvent(payload, this.runtime.jsonDepth);
      if (event instanceof RefusedFrame) {
        this.runtime.logger.warn('websocket event frame refused', this.fields({ reason: event.reason, frame: previewText(payload) }));
        return this.close(1007, event.reason);
      }
      if (event instanceof ClientAnswer) return void (this.#requests?.settle(event) || this.#ignore(`an answer (ref ${event.ref}) no request awaits`));
      const handler = event && events.get(event.event);
      if (event?.ref !== undefined) return this.#post({ kind: 'request', handler, event: event.event, payload: event.data, ref: event.ref, frame: event });
      if (handler) return this.#post({ kind: 'message', handler, payload: event.data, frame: event });
      if (!text && events.size > 0) {
        if (event) return this.#ignore(`event '${event.event}'`);
        this.runtime.logger.warn('websocket frame is not a JSON event', this.fields({ frame: previewText(payload) }));
        return this.close(1007, 'expected JSON {"event": name, "data": value}');
      }
    }
    if (text) this.#post({ kind: 'message', handler: text, payload });
    else this.#ignore('a text frame');
  }

  /** Counts a frame against this turn's budget; past it, ws hands over the rest one per turn. */
  #pace(): void {
    const turn = frameTurn();
    if (turn !== this.#readIn) {
      if (this.#framesInTurn >= FRAMES_PER_TURN) deliverSynchronously(this.ws, true);
      this.#readIn = turn;
      this.#framesInTurn = 0;
    }
    if (++this.#framesInTurn === FRAMES_PER_TURN) deliverSynchronously(this.ws, false);
  }

  #overRate(): void {
    const { limit, reason } = this.#limiter!;
    this.cut('rate_limit', 'websocket rate limit exceeded', { rateLimit: { messages: limit.messages, per: limit.per } }, reason);
  }

  #onClose(code: number, reason: string): void {
    this.#closing = true;
    // Out of every channel and registry at once, so no broadcast reaches a closed socket.
    this.runtime.hub.disconnected(this);
    clearTimeout(this.#idleTimer);
    this.stopWriting();
    this.#requests?.close();
    // Frames and infos still queued have no one to answer; only the one running now finishes.
    this.#queue = undefined;
    this.#post({ kind: 'terminate', reason: { code, reason } });
  }

  /** Runs `job` now if the mailbox is free (no queue touched), else queues it behind the running one. */
  #post(job: Job): void {
    if (this.#busy) (this.#queue ??= []).push(queued(job));
    else this.#run(job);
  }

  /** Runs `first`, then the jobs that queued meanwhile, until one goes async or none is left. */
  #run(first: Job): void {
    this.#busy = true;
    for (let job: Job | undefined = first; job; job = this.#queue?.shift()) {
      if (this.#closing && job.kind !== 'terminate') continue;
      const pending = runJob(this, this.runtime.definition, job, this.#step);
      // #step never rejects: every failure is handled inside it.
      if (pending) return void pending.then(() => this.#resume());
    }
    this.#busy = false;
    // An emptied queue is dropped rather than kept for the rest of an idle connection's life.
    this.#queue = undefined;
  }

  #resume(): void {
    const next = this.#queue?.shift();
    if (next) return this.#run(next);
    this.#busy = false;
    this.#queue = undefined;
  }

  /** Runs one job; returns a promise only when something in it went async. */
  #step(job: Job): void | Promise<void> {
    if (job.kind === 'terminate') return this.#terminate(job.reason);
    const client = this.#clientId;
    if (job.kind !== 'request' || client === undefined) return this.#attempt(job);
    return this.runtime.requests.once(client, job, this, this.runtime.definition.maxPayload, () => this.#attempt(job));
  }

  #attempt(job: Exclude<Job, { kind: 'terminate' }>): void | Promise<void> {
    let returned: unknown;
    try {
      returned = this.#invoke(job);
    } catch (error) {
      return this.#fail(job, error);
    }
    if (isThenable(returned)) return Promise.resolve(returned).then((value) => this.#apply(job, value), (error) => this.#fail(job, error));
    return this.#apply(job, returned);
  }

  #invoke(job: Exclude<Job, { kind: 'terminate' }>): unknown {
    const conn = this.connection;
    if (job.kind === 'init') {
      this.#gateway = this.runtime.createGateway(this) as Record<string, Callable>;
      return this.runtime.definition.hasInit ? this.#gateway.init!(conn) : undefined;
    }
    const gateway = this.#gateway!;
    if (job.kind === 'request' && job.handler === undefined) throw notFound(job.event);
    // Only a gateway with `data` schemas goes through its EventInputs (event-input.ts): validated, then called.
    const { inputs } = this.runtime.definition;
    if (job.kind !== 'info') return inputs ? inputs.call(gateway, job, conn, this.runtime.logger) : gateway[job.handler!]!(job.payload, conn);
    const handler = infoHandlerFor(this.runtime.definition, job.message);
    if (!handler) {
      this.#ignore('an info message no @OnInfo filter matches');
      return undefined;
    }
    return gateway[handler.handlerName]!(job.message, conn);
  }

  /** Applies a callback's return; anything but nothing, reply or stop goes to the fallback, if any. */
  #apply(job: Job, returned: unknown): void | Promise<void> {
    try {
      if (this.#perform(job, returned)) return;
      // Off the hot path: a closure per return is only made for a return the fallback must resolve.
      const resolving = resolveByFallback(this.runtime.fallback, this.connection, returned, this.#where(job), (value) => this.#perform(job, value));
      if (resolving) return resolving.catch((error: unknown) => this.#fail(job, error));
    } catch (error) {
      this.#fail(job, error);
    }
  }

  /** True when `value` is a gateway result, after carrying it out. */
  #perform(job: Job, value: unknown): boolean {
    if (value === undefined) return job.kind !== 'request' || this.#ack(job, null);
    if (!isTagged(value)) return false;
    if (isAck(value)) return this.#ack(job, value[1]);
    if (value[0] === 'reply' && Array.isArray(value[1])) {
      const frames = value[1] as unknown[];
      const last = frames.at(-1);
      // reply(...frames, ack(value)): the frames, then the answer.
      const sent = isAck(last) ? frames.slice(0, -1) : frames;
      // A history message's frames follow its position marker (vela:at), made once per broadcast; only
      // vela/client (which names itself, vela_client) reads markers: other clients get the app's frames alone.
      const marker = job.kind === 'info' && this.#clientId !== undefined ? positionMarker(this.runtime.hub.encoder, job.message, sent.length) : undefined;
      const unsent = this.writeReply(sent, marker);
      if (unsent) this.unencodable(this.#where(job), unsent);
      return isAck(last) ? this.#ack(job, last[1]) : job.kind !== 'request' || this.#ack(job, null);
    }
    if (value[0] === 'stop') {
      if (job.kind === 'request') this.#ack(job, null);
      this.close(value[1] as number | undefined, value[2] as string | undefined);
      return true;
    }
    return false;
  }

  /** Answers a request with `ok: value`; any other job has no one to answer. True: the return was a result. */
  #ack(job: Job, ok: unknown): true {
    if (job.kind === 'request') this.send((job.answer = okAnswer(job.ref, ok)));
    else this.runtime.logger.debug('gateway ack ignored: only a request (an event with a ref) is answered', this.fields({ handler: this.#where(job) }));
    return true;
  }

  /** A request is answered with the error and the socket kept; a WsError is an answer, not a failure. */
  #fail(job: Job, error: unknown): void {
    const request = job.kind === 'request';
    jobFailed(job, error);
    if (!request || !(error instanceof WsError)) this.runtime.logger.error('gateway callback failed', this.fields({ handler: this.#where(job), error }));
    if (request) this.send((job.answer = errorAnswer(job.ref, error)));
    else if (!this.#closing) this.close(1011, 'internal error');
  }

  async #terminate(reason: CloseReason): Promise<void> {
    try {
      // No gateway means its construction failed in init: there is nothing to clean up.
      if (this.#gateway && this.runtime.definition.hasTerminate) await this.#gateway.terminate!(reason);
    } catch (error) {
      this.runtime.logger.error('gateway callback failed', this.fields({ handler: this.#where({ kind: 'terminate', reason }), error }));
    } finally {
      this.#done = true;
      this.runtime.terminated?.(this);
      for (const resolve of this.#waiters ?? []) resolve();
    }
  }

  #where(job: Job): string {
    return jobLabel(this.runtime.definition, job);
  }

  #ignore(what: string): void {
    this.runtime.logger.debug(`websocket ignored ${what}: no handler takes it`, this.fields());
  }

  protected fields(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { gateway: this.runtime.definition.gateway.name, connection: this.connection.id, ...extra };
  }
}

function ownerOf(ws: WebSocket): GatewayProcess {
  return (ws as GatewaySocket).owner!;
}
