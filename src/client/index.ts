// `vela/client`: the browser side of a Vela gateway. A socket that outlives its connections: sends
// wait in a bounded queue while the link is down, a lost link is retried with capped exponential
// backoff and jitter, and an app-level heartbeat (`vela:ping` → `vela:pong`, answered by every
// Vela gateway) finds a dead link that TCP and proxies would keep quiet about for minutes.
// Browser-only and dependency-free: the server serves this file as /vela/client.js.

/** Text frame the client sends as a heartbeat. Reserved: a Vela gateway answers it and never hands it to a handler. */
export const HEARTBEAT_PING = 'vela:ping';
/** The gateway's answer to {@link HEARTBEAT_PING}. Reserved: never delivered to `'message'` listeners. */
export const HEARTBEAT_PONG = 'vela:pong';
/** Close code the client uses (and reports in `'close'`) when a heartbeat goes unanswered. */
export const HEARTBEAT_TIMEOUT_CODE = 4000;

export interface ReconnectOptions {
  /** Delay before the first retry, in ms. Default 500. */
  initialDelay?: number;
  /** Longest delay between retries, in ms. Default 10 000. */
  maxDelay?: number;
  /** Each failed attempt multiplies the delay by this. Default 2. */
  factor?: number;
  /** 0–1: each delay is drawn at random from `(1 - jitter)` to 1 times the backoff, so a restarted server is not hit by every page at once. Default 0.5. */
  jitter?: number;
}

export interface HeartbeatOptions {
  /** Send `vela:ping` this often while open, in ms. Default 25 000. */
  interval?: number;
  /** Close and reconnect when nothing at all arrives this long after a ping, in ms. Default 10 000. */
  timeout?: number;
}

export interface QueueOptions {
  /** Messages kept while not connected; past it the oldest is dropped (`'drop'`, `dropped`). Default 100; 0 keeps none. */
  max?: number;
}

export interface ConnectOptions {
  /** Retry a lost or refused connection. Default on; `false` makes the first close final. */
  reconnect?: ReconnectOptions | false;
  /** Detect a dead link with app-level pings. Default on; `false` for servers that are not Vela. */
  heartbeat?: HeartbeatOptions | false;
  queue?: QueueOptions;
  /** WebSocket subprotocols, as for `new WebSocket(url, protocols)`. */
  protocols?: string | string[];
}

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
  /** A frame from the server (not `vela:pong`). */
  message: (data: IncomingData) => void;
  /** A connection or an attempt closed; `reconnectIn` says whether and when the next attempt comes. */
  close: (info: CloseInfo) => void;
  /** Open again after a lost link, after `attempts` connection attempts. Follows `'open'`. */
  reconnect: (info: { attempts: number }) => void;
  /** A queued message was dropped because the queue was full. */
  drop: (data: OutgoingData) => void;
}

type Listeners = { [K in keyof SocketEvents]: Set<SocketEvents[K]> };

interface Settings {
  reconnect: Required<ReconnectOptions> | false;
  heartbeat: Required<HeartbeatOptions> | false;
  max: number;
}

const CONNECTING = 0;
const OPEN = 1;

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
  readonly #listeners: Listeners = { open: new Set(), message: new Set(), close: new Set(), reconnect: new Set(), drop: new Set() };
  readonly #events = new Map<string, Set<(data: unknown) => void>>();
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

  /** Listens for a socket event; returns the function that stops listening. */
  on<K extends keyof SocketEvents>(type: K, listener: SocketEvents[K]): () => void {
    const set = this.#listeners[type] as Set<SocketEvents[K]> | undefined;
    if (!set) throw new TypeError(`Unknown socket event '${String(type)}': use open, message, close, reconnect or drop.`);
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
    const ws = this.#ws;
    if (ws && ws.readyState <= OPEN) ws.close(code, reason);
  }

  #open(): void {
    const ws = new WebSocket(this.url, this.#protocols);
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
    while (this.#queue.length > 0 && this.#state === 'open' && ws === this.#ws) ws.send(this.#queue.shift()!);
  }

  #onMessage(ws: WebSocket, data: IncomingData): void {
    if (ws !== this.#ws) return;
    // Any frame shows the link is alive, not only the pong.
    clearTimeout(this.#pongTimer);
    this.#pongTimer = undefined;
    if (data === HEARTBEAT_PONG) return;
    this.#emit('message', data);
    if (this.#events.size > 0 && typeof data === 'string') {
      const event = parseEvent(data);
      if (event) for (const listener of [...(this.#events.get(event.event) ?? [])]) call(listener, event.data);
    }
  }

  #onClose(ws: WebSocket, info: CloseInfo): void {
    if (ws !== this.#ws) return;
    this.#ws = undefined;
    this.#stopHeartbeat();
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
      this.#emit('close', info);
    }
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
    // A copy: a listener may unsubscribe (itself or another) while this runs.
    for (const listener of [...this.#listeners[type]]) call(listener as (...a: unknown[]) => void, ...args);
  }
}

/** `/path` → `ws(s)://host/path` of the page; `http(s):` becomes `ws(s):`. */
function resolveUrl(url: string): string {
  const base = typeof location === 'undefined' ? undefined : location.href;
  let resolved: URL;
  try {
    resolved = new URL(url, base);
  } catch {
    throw new SyntaxError(`connect('${url}'): not a URL. Pass ws://host/path, wss://host/path, or a path such as '/comments' on a page.`);
  }
  if (resolved.protocol === 'http:') resolved.protocol = 'ws:';
  else if (resolved.protocol === 'https:') resolved.protocol = 'wss:';
  if (resolved.protocol !== 'ws:' && resolved.protocol !== 'wss:') {
    throw new SyntaxError(`connect('${url}'): ${resolved.protocol} is not a WebSocket URL. Use ws:, wss:, http:, https: or a path.`);
  }
  return resolved.href;
}

function settings(options: ConnectOptions): Settings {
  const { reconnect = {}, heartbeat = {}, queue = {} } = options;
  return {
    reconnect: reconnect && {
      initialDelay: number('reconnect.initialDelay', reconnect.initialDelay, 500, 0),
      maxDelay: number('reconnect.maxDelay', reconnect.maxDelay, 10_000, 0),
      factor: number('reconnect.factor', reconnect.factor, 2, 1),
      jitter: number('reconnect.jitter', reconnect.jitter, 0.5, 0, 1),
    },
    heartbeat: heartbeat && {
      interval: number('heartbeat.interval', heartbeat.interval, 25_000, 1),
      timeout: number('heartbeat.timeout', heartbeat.timeout, 10_000, 1),
    },
    max: number('queue.max', queue.max, 100, 0),
  };
}

function number(name: string, value: number | undefined, fallback: number, min: number, max = Infinity): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    const range = max === Infinity ? `a number ≥ ${min}` : `a number from ${min} to ${max}`;
    throw new RangeError(`connect(): ${name} must be ${range}, got ${String(value)}.`);
  }
  return value;
}

/** The delay before a retry, `retries` retries after the link was last open: initialDelay × factor^retries, capped, jittered. */
function backoff({ initialDelay, maxDelay, factor, jitter }: Required<ReconnectOptions>, retries: number): number {
  const full = Math.min(maxDelay, initialDelay * factor ** retries);
  return Math.round(full * (1 - jitter * Math.random()));
}

function parseEvent(text: string): { event: string; data: unknown } | undefined {
  if (text.charCodeAt(0) !== 123 /* { */) return undefined;
  try {
    const value = JSON.parse(text) as { event?: unknown; data?: unknown } | null;
    if (typeof value?.event === 'string') return { event: value.event, data: value.data };
  } catch {
    // Not JSON: a plain text frame, for 'message' listeners only.
  }
  return undefined;
}

/** A throwing listener must not stop the others or the socket: its error is reported, later. */
function call<A extends unknown[]>(listener: (...args: A) => void, ...args: A): void {
  try {
    listener(...args);
  } catch (error) {
    queueMicrotask(() => {
      throw error;
    });
  }
}
