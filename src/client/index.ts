// `vela/client`: the browser side of a Vela gateway. A socket that outlives its connections: sends
// wait in a bounded queue while the link is down, a lost link is retried with capped exponential
// backoff and jitter, and an app-level heartbeat (`vela:ping` → `vela:pong`, answered by every
// Vela gateway) finds a dead link that TCP and proxies would keep quiet about for minutes. On top:
// requests with answers that survive reconnects (requests.ts), and recovery of what a channel with
// history broadcast while the link was down (positions.ts).
// Browser-only and dependency-free: the server serves this file as /vela/client.js, and its modules
// beside it.
import { ChannelPositions, MARKER_PREFIX, RECOVER_PREFIX, recoverInfo, type RecoverInfo } from './positions.js';
import { callAll } from './listeners.js';
import { answerFor, ERROR_EVENT, eventError, PendingRequests, type AnswerFrame, type EventError, type RequestHandler, type RequestOptions } from './requests.js';
import { backoff, resolveUrl, settings, type ConnectOptions, type Settings } from './settings.js';

export { RequestError, MAX_PENDING_REQUESTS, type EventError, type Issue, type RequestHandler, type RequestOptions } from './requests.js';
export type { RecoverInfo } from './positions.js';
export {
  presence,
  PresenceTracker,
  MAX_HELD_DIFFS,
  type PresenceDiff,
  type PresenceEntry,
  type PresenceJoinListener,
  type PresenceLeaveListener,
  type PresenceList,
  type PresenceMeta,
  type PresenceMetas,
  type PresenceSource,
  type PresenceSyncListener,
} from './presence.js';
export type { ConnectOptions, HeartbeatOptions, QueueOptions, ReconnectOptions } from './settings.js';

/** Text frame the client sends as a heartbeat. Reserved: a Vela gateway answers it and never hands it to a handler. */
export const HEARTBEAT_PING = 'vela:ping';
/** The gateway's answer to {@link HEARTBEAT_PING}. Reserved: never delivered to `'message'` listeners. */
export const HEARTBEAT_PONG = 'vela:pong';
/** Close code the client uses (and reports in `'close'`) when a heartbeat goes unanswered. */
export const HEARTBEAT_TIMEOUT_CODE = 4000;

/** What `send` takes: what the browser's `WebSocket.send` takes. */
export type OutgoingData = Parameters<WebSocket['send']>[0];
/** A text frame is a string, a binary frame an ArrayBuffer. */
export type IncomingData = string | ArrayBuffer;

/**
 * `connecting` until the first open, `open`, `reconnecting` after a lost link until the next open,
 * `closed` after `close()` (or the first close, with `reconnect: false`).
 */
export type SocketState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface CloseInfo {
  code: number;
  reason: string;
  wasClean: boolean;
  /** Milliseconds until the next attempt; absent when the socket will not reconnect. */
  reconnectIn?: number;
}

export interface SocketEvents {
  /** The socket opened (the first time, and after every reconnect). Queued messages follow the listeners. */
  open: () => void;
  /** A frame from the server (not `vela:pong` or another `vela:` frame, not a request, an answer or a `vela:error` event). */
  message: (data: IncomingData) => void;
  /** A connection or an attempt closed; `reconnectIn` says whether and when the next attempt comes. */
  close: (info: CloseInfo) => void;
  /** Open again after a lost link, after `attempts` connection attempts. Follows `'open'`. */
  reconnect: (info: { attempts: number }) => void;
  /** A queued message was dropped because the queue was full. */
  drop: (data: OutgoingData) => void;
  /**
   * A reconnect joined a channel with history again: `recovered` when every message missed was
   * replayed (before any newer one), false when the history could not cover the gap (reload the state).
   */
  recover: (info: RecoverInfo) => void;
  /**
   * The gateway could not handle an event this socket sent without a ref (`emit`): its data failed
   * the event's schema (`code: 'invalid'`, with `issues`), or the server failed (`internal`). The
   * socket stays open. A request's failure rejects its promise instead.
   */
  error: (error: EventError) => void;
}

type Listeners = { [K in keyof SocketEvents]: Set<SocketEvents[K]> };

const CONNECTING = 0;
const OPEN = 1;
/** What the server may send beyond the app's frames: a request (`ref` and `event`) or an answer (`ref`). */
type Framed = { event?: unknown; data?: unknown; ref?: unknown };

/**
 * Opens a socket to a Vela gateway (or any WebSocket server). A relative URL resolves against the
 * page: `/comments` on https://example.com is wss://example.com/comments.
 *
 * @example
 * const socket = connect('/comments');
 * socket.on('message', (text) => console.log(text));
 * socket.send('Hello Nova!');                 // queued until the socket is open
 * socket.onEvent('new_comment', (data) => console.log(data));
 * socket.emit('post', { text: 'Hi' });        // {"event":"post","data":{"text":"Hi"}}
 */
export function connect(url: string, options: ConnectOptions = {}): VelaSocket {
  return new VelaSocket(url, options);
}

export class VelaSocket {
  /** The resolved `ws:` or `wss:` URL. */
  readonly url: string;
  readonly #protocols: string | string[] | undefined;
  readonly #settings: Settings;
  /** Random per socket, kept for the page's life: the server answers a repeated request by it (`vela_client`). */
  readonly clientId = randomId();
  readonly #listeners: Listeners = { open: new Set(), message: new Set(), close: new Set(), reconnect: new Set(), drop: new Set(), recover: new Set(), error: new Set() };
  readonly #events = new Map<string, Set<(data: unknown) => void>>();
  readonly #requests = new PendingRequests();
  readonly #requestHandlers = new Map<string, RequestHandler>();
  readonly #positions = new ChannelPositions();
  readonly #queue: OutgoingData[] = [];
  #ws?: WebSocket;
  #state: SocketState = 'connecting';
  #opened = false;
  /** Retries scheduled since the last open: the exponent of the backoff. */
  #retries = 0;
  #dropped = 0;
  #retryTimer?: ReturnType<typeof setTimeout>;
  #pingTimer?: ReturnType<typeof setInterval>;
  #pongTimer?: ReturnType<typeof setTimeout>;

  constructor(url: string, options: ConnectOptions = {}) {
    this.url = resolveUrl(url);
    this.#protocols = options.protocols;
    this.#settings = settings(options);
    this.#open();
  }

  get state(): SocketState {
    return this.#state;
  }

  /** Messages waiting for the socket to open. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Messages dropped so far because the queue was full. */
  get dropped(): number {
    return this.#dropped;
  }

  /**
   * Sends now when open; otherwise queues (the oldest is dropped past `queue.max`). Returns true
   * when the frame went to the open socket.
   */
  send(data: OutgoingData): boolean {
    if (this.#state === 'closed') {
      throw new Error(`send() on a closed socket (${this.url}): close() is final; connect() again for a new socket.`);
    }
    const ws = this.#ws;
    if (this.#state === 'open' && ws?.readyState === OPEN) {
      ws.send(data);
      return true;
    }
    this.#queue.push(data);
    if (this.#queue.length > this.#settings.max) this.#drop(this.#queue.shift()!);
    return false;
  }

  /** Sends `JSON.stringify(value)` as a text frame. */
  sendJson(value: unknown): boolean {
    return this.send(JSON.stringify(value));
  }

  /** Sends `{ "event": event, "data": data }`, the frame `@OnMessage('event')` takes. */
  emit(event: string, data?: unknown): boolean {
    return this.sendJson({ event, data });
  }

  /**
   * Sends `{ event, data, ref }` and resolves with the server's answer (`ack(value)`; `null` when
   * the handler returned nothing), or rejects with a RequestError: the server's `WsError` code,
   * `internal`, `not_found`, or `timeout` (default 10 s), `closed` (`close()` came first),
   * `overloaded` (1 000 already waiting). Sent when the socket is open; a request unanswered when
   * the link drops is sent again after the reconnect under the same ref, and the server runs its
   * handler once.
   */
  request<T = unknown>(event: string, data?: unknown, options: RequestOptions = {}): Promise<T> {
    if (this.#state === 'closed') {
      return Promise.reject(new Error(`request() on a closed socket (${this.url}): close() is final; connect() again for a new socket.`));
    }
    return this.#requests.start(event, data, options, (frame) => this.#sendIfOpen(frame)) as Promise<T>;
  }

  /**
   * Answers the server's `conn.request(event, data)`: the handler's value (or what its promise
   * resolves to) is the answer; a throw answers `{ code: error.code or 'internal', message }`.
   * One handler per event; returns the function that removes it.
   */
  onRequest(event: string, handler: RequestHandler): () => void {
    this.#requestHandlers.set(event, handler);
    return () => {
      if (this.#requestHandlers.get(event) === handler) this.#requestHandlers.delete(event);
    };
  }

  /** Listens for a socket event; returns the function that stops listening. */
  on<K extends keyof SocketEvents>(type: K, listener: SocketEvents[K]): () => void {
    const set = this.#listeners[type] as Set<SocketEvents[K]> | undefined;
    if (!set) throw new TypeError(`Unknown socket event '${String(type)}': use open, message, close, reconnect, drop, recover or error.`);
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Listens for JSON frames `{ "event": name, "data": … }` from the server; the listener gets the data. */
  onEvent<T = unknown>(name: string, listener: (data: T) => void): () => void {
    let set = this.#events.get(name);
    if (!set) this.#events.set(name, (set = new Set()));
    const wrapped = listener as (data: unknown) => void;
    set.add(wrapped);
    return () => {
      set.delete(wrapped);
      if (set.size === 0) this.#events.delete(name);
    };
  }

  /** Closes for good: no reconnect, the queue is discarded, and a later `send` throws. */
  close(code = 1000, reason = ''): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    clearTimeout(this.#retryTimer);
    this.#stopHeartbeat();
    this.#queue.length = 0;
    this.#requests.rejectAll('closed', `the socket to ${this.url} was closed before the answer came`);
    const ws = this.#ws;
    if (ws && ws.readyState <= OPEN) ws.close(code, reason);
  }

  #open(): void {
    const ws = new WebSocket(this.#connectionUrl(), this.#protocols);
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => this.#onOpen(ws);
    ws.onmessage = (event: MessageEvent<IncomingData>) => this.#onMessage(ws, event.data);
    ws.onclose = (event) => this.#onClose(ws, { code: event.code, reason: event.reason, wasClean: event.wasClean });
    this.#ws = ws;
  }

  #onOpen(ws: WebSocket): void {
    if (ws !== this.#ws || this.#state === 'closed') return;
    const attempts = this.#retries;
    const reconnected = this.#opened;
    this.#retries = 0;
    this.#opened = true;
    this.#state = 'open';
    this.#startHeartbeat(ws);
    this.#emit('open');
    if (reconnected && this.#state === 'open') this.#emit('reconnect', { attempts });
    // After the listeners: one that joins or authenticates again goes before what was queued.
    // Unanswered requests first, oldest first: sent before or during the lost link, or never.
    for (const frame of this.#requests.frames()) if (this.#state === 'open' && ws === this.#ws) ws.send(frame);
    while (this.#queue.length > 0 && this.#state === 'open' && ws === this.#ws) ws.send(this.#queue.shift()!);
  }

  #onMessage(ws: WebSocket, data: IncomingData): void {
    if (ws !== this.#ws) return;
    // Any frame shows the link is alive, not only the pong.
    clearTimeout(this.#pongTimer);
    this.#pongTimer = undefined;
    if (typeof data === 'string' && data.startsWith('vela:')) return this.#onProtocolFrame(data);
    const group = this.#positions.hold(data);
    if (group === undefined) this.#dispatch(ws, data);
    else for (const frame of group) this.#dispatch(ws, frame as IncomingData);
  }

  /** `vela:pong`, a history marker or a recovery report: never the app's. */
  #onProtocolFrame(data: string): void {
    if (data.startsWith(MARKER_PREFIX)) {
      this.#positions.mark(data.slice(MARKER_PREFIX.length));
    } else if (data.startsWith(RECOVER_PREFIX)) {
      const info = recoverInfo(data.slice(RECOVER_PREFIX.length));
      if (info) this.#emit('recover', info);
    }
  }

  /** One frame of the app's, or a request or an answer. */
  #dispatch(ws: WebSocket, data: IncomingData): void {
    const framed = typeof data === 'string' ? parseFramed(data) : undefined;
    if (typeof framed?.ref === 'string') {
      if (typeof framed.event === 'string') return void this.#answer(ws, framed.ref, framed.event, framed.data);
      if (this.#requests.settle(framed as AnswerFrame)) return;
    }
    // The gateway's report on an event this socket sent: for 'error' listeners, not the app's frames.
    const failed = framed?.event === ERROR_EVENT ? eventError(framed.data) : undefined;
    if (failed) return this.#emit('error', failed);
    this.#emit('message', data);
    const listeners = typeof framed?.event === 'string' ? this.#events.get(framed.event) : undefined;
    if (listeners) callAll(listeners, framed!.data);
  }

  async #answer(ws: WebSocket, ref: string, event: string, data: unknown): Promise<void> {
    const answer = await answerFor(ref, this.#requestHandlers.get(event), event, data);
    // The connection that asked: an answer on another one would reach a server that forgot the ref.
    if (ws === this.#ws && ws.readyState === OPEN) ws.send(answer);
  }

  #onClose(ws: WebSocket, info: CloseInfo): void {
    if (ws !== this.#ws) return;
    this.#ws = undefined;
    this.#stopHeartbeat();
    this.#positions.linkLost();
    const { reconnect } = this.#settings;
    if (this.#state !== 'closed' && reconnect) {
      const delay = backoff(reconnect, this.#retries);
      this.#retries += 1;
      this.#state = this.#opened ? 'reconnecting' : 'connecting';
      this.#retryTimer = setTimeout(() => this.#open(), delay);
      this.#emit('close', { ...info, reconnectIn: delay });
    } else {
      this.#state = 'closed';
      this.#queue.length = 0;
      this.#requests.rejectAll('closed', `the socket to ${this.url} closed for good before the answer came`);
      this.#emit('close', info);
    }
  }

  /** The URL of the next connection: this client's id, and the positions to recover from. */
  #connectionUrl(): string {
    const url = new URL(this.url);
    url.searchParams.set('vela_client', this.clientId);
    const positions = this.#positions.query();
    if (positions !== undefined) url.searchParams.set('vela_pos', positions);
    return url.href;
  }

  #sendIfOpen(frame: string): void {
    const ws = this.#ws;
    if (this.#state === 'open' && ws?.readyState === OPEN) ws.send(frame);
  }

  #startHeartbeat(ws: WebSocket): void {
    const { heartbeat } = this.#settings;
    if (!heartbeat) return;
    this.#pingTimer = setInterval(() => {
      if (ws.readyState !== OPEN) return;
      ws.send(HEARTBEAT_PING);
      this.#pongTimer ??= setTimeout(() => this.#onDeadLink(ws), heartbeat.timeout);
    }, heartbeat.interval);
  }

  #stopHeartbeat(): void {
    clearInterval(this.#pingTimer);
    clearTimeout(this.#pongTimer);
    this.#pingTimer = this.#pongTimer = undefined;
  }

  /**
   * No answer to a ping. On a dead link the browser's close handshake could wait minutes for the
   * TCP timeout, so the socket is abandoned at once: its late events are ignored.
   */
  #onDeadLink(ws: WebSocket): void {
    ws.onopen = ws.onmessage = ws.onclose = null;
    ws.close(HEARTBEAT_TIMEOUT_CODE, 'heartbeat timeout');
    this.#onClose(ws, { code: HEARTBEAT_TIMEOUT_CODE, reason: 'heartbeat timeout', wasClean: false });
  }

  #drop(data: OutgoingData): void {
    this.#dropped += 1;
    this.#emit('drop', data);
  }

  #emit<K extends keyof SocketEvents>(type: K, ...args: Parameters<SocketEvents[K]>): void {
    callAll(this.#listeners[type] as Set<(...a: unknown[]) => void>, ...args);
  }
}

/** A JSON object frame (an event, a request, an answer), or undefined for any other frame. */
function parseFramed(text: string): Framed | undefined {
  if (text.charCodeAt(0) !== 123 /* { */) return undefined;
  try {
    const value = JSON.parse(text) as Framed | null;
    return typeof value === 'object' && value !== null ? value : undefined;
  } catch {
    // Not JSON: a plain text frame, for 'message' listeners only.
    return undefined;
  }
}

/** 32 hex digits from the platform's random source (randomUUID needs a secure context; this does not). */
function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}
