// app.ws: a WebSocket client for tests that awaits frames instead of sleeping. Every frame is
// queued as it arrives, so recv() never misses one sent before it was called, and every failure —
// a timeout, a close, a refused upgrade — is an Error saying what the socket had seen, thrown at
// the test's own line.
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { WebSocket } from 'ws';
import type { CloseReason } from '../index.js';
import type { CookieJar } from './cookie-jar.js';

export interface SocketOptions {
  /** Upgrade request headers. A `cookie` header given here is sent instead of the jar's cookies. */
  headers?: Record<string, string>;
  /** Subprotocols offered in `Sec-WebSocket-Protocol`. */
  protocols?: string | string[];
  /** Whether the socket answers the server's pings itself (ws's `autoPong`). Default true; false plays a silent peer. */
  autoPong?: boolean;
  /** How long to wait for the socket to open, and the default of `recv({ timeout })`, in ms. Default 1000. */
  timeout?: number;
}

export interface RecvOptions {
  /** In ms; default: the socket's `timeout`. */
  timeout?: number;
}

/**
 * An open WebSocket to the app under test.
 *
 * @example
 * const ws = await app.ws('/rooms/lobby?name=ada');
 * expect(await ws.recv()).toBe('welcome to lobby, ada');
 * ws.sendEvent('typing', { on: true });
 * expect(await ws.recvJson()).toEqual({ typing: true });
 */
export interface TestSocket {
  /**
   * The `ws` client underneath, for what this wrapper does not cover: its `readyState`, pings,
   * a frame sent with options of your own (`socket.raw.send(bytes, { binary: false })`).
   */
  readonly raw: WebSocket;
  /** The server's `101 Switching Protocols` response, e.g. to read a header it set on the upgrade. */
  readonly response: IncomingMessage;
  /** Settles with the close code and reason once the socket has closed, whoever closed it. */
  readonly closed: Promise<CloseReason>;
  /** A text frame, for `@OnMessage()`. */
  sendText(text: string): void;
  /** A binary frame, for `@OnMessage({ binary: true })`. */
  sendBinary(bytes: Uint8Array): void;
  /** `JSON.stringify(value)` as a text frame. */
  sendJson(value: unknown): void;
  /** `{"event": event, "data": data}`, for `@OnMessage('event')`. */
  sendEvent(event: string, data?: unknown): void;
  /** The next frame: a string for a text frame, a Buffer for a binary one. Rejects on timeout or close. */
  recv(options?: RecvOptions): Promise<string | Buffer>;
  /** The next frame, which must be a JSON text frame, parsed. */
  recvJson<T = unknown>(options?: RecvOptions): Promise<T>;
  /** Resolves after `ms` (default 100) if no frame arrived meanwhile (or was waiting unread); rejects naming the frame otherwise. */
  expectNoMessage(ms?: number): Promise<void>;
  /** Starts the closing handshake; resolves once the socket has closed. */
  close(code?: number, reason?: string): Promise<CloseReason>;
}

/** The server answered the upgrade with an HTTP response instead of a 101. */
export class UpgradeRefusedError extends Error {
  override readonly name = 'UpgradeRefusedError';

  constructor(
    label: string,
    readonly status: number,
    readonly headers: IncomingHttpHeaders,
    readonly body: string,
    statusText = '',
  ) {
    const location = headers.location ? ` to ${headers.location}` : '';
    const shown = body.length > 300 ? `${body.slice(0, 300)}…` : body;
    super(`${label}: upgrade refused with HTTP ${status}${statusText ? ` ${statusText}` : ''}${location}${shown ? `: ${shown}` : ''}`);
  }
}

type Message = string | Buffer;

interface Waiter {
  resolve(message: Message): void;
  reject(error: Error): void;
}

const DEFAULT_TIMEOUT = 1000;
const RECENT = 3;

class QueuedSocket implements TestSocket {
  readonly closed: Promise<CloseReason>;
  readonly #ws: WebSocket;
  readonly #label: string;
  readonly #timeout: number;
  readonly #queue: Message[] = [];
  readonly #waiters: Waiter[] = [];
  readonly #watchers = new Set<(message: Message) => void>();
  readonly #recent: string[] = [];
  #received = 0;
  #closedWith?: CloseReason;
  #response?: IncomingMessage;

  constructor(ws: WebSocket, label: string, timeout: number) {
    this.#ws = ws;
    this.#label = label;
    this.#timeout = timeout;
    // Listening from the start: a frame sent by the gateway's init can arrive with the 101 itself.
    ws.on('message', (data, isBinary) => this.#arrived(isBinary ? (data as Buffer) : (data as Buffer).toString()));
    this.closed = new Promise((resolve) => {
      ws.once('close', (code, reason) => {
        const closedWith = { code, reason: reason.toString() };
        this.#closedWith = closedWith;
        for (const waiter of this.#waiters.splice(0)) waiter.reject(this.#closedError());
        resolve(closedWith);
      });
    });
  }

  get raw(): WebSocket {
    return this.#ws;
  }

  get response(): IncomingMessage {
    if (!this.#response) throw new Error(`${this.#label}: no 101 response yet`);
    return this.#response;
  }

  /** Keeps the 101 response, which ws hands over just before 'open'. */
  upgraded(response: IncomingMessage): void {
    this.#response = response;
  }

  sendText(text: string): void {
    this.#ws.send(text);
  }

  sendBinary(bytes: Uint8Array): void {
    this.#ws.send(bytes, { binary: true });
  }

  sendJson(value: unknown): void {
    this.#ws.send(JSON.stringify(value));
  }

  sendEvent(event: string, data?: unknown): void {
    this.sendJson({ event, data });
  }

  recv(options: RecvOptions = {}): Promise<Message> {
    const callsite = new Error();
    const queued = this.#queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.#closedWith) return Promise.reject(thrownAt(callsite, this.#closedError()));
    const timeout = options.timeout ?? this.#timeout;
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve: (message) => {
          clearTimeout(timer);
          resolve(message);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(thrownAt(callsite, error));
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(thrownAt(callsite, new Error(`${this.#label}: no message within ${timeout} ms ${this.#history()}`)));
      }, timeout);
      this.#waiters.push(waiter);
    });
  }

  async recvJson<T = unknown>(options?: RecvOptions): Promise<T> {
    const message = await this.recv(options);
    if (typeof message !== 'string') {
      throw new Error(`${this.#label}: expected a JSON text frame, got a binary frame of ${message.length} bytes`);
    }
    try {
      return JSON.parse(message) as T;
    } catch {
      throw new Error(`${this.#label}: expected a JSON text frame, got ${preview(message)}`);
    }
  }

  expectNoMessage(ms = 100): Promise<void> {
    const callsite = new Error();
    const unread = this.#queue[0];
    if (unread !== undefined) {
      return Promise.reject(thrownAt(callsite, new Error(`${this.#label}: expected no message, but ${preview(unread)} had arrived unread`)));
    }
    const started = Date.now();
    return new Promise((resolve, reject) => {
      const watcher = (message: Message) => {
        clearTimeout(timer);
        this.#watchers.delete(watcher);
        const after = Date.now() - started;
        reject(thrownAt(callsite, new Error(`${this.#label}: expected no message for ${ms} ms, got ${preview(message)} after ${after} ms`)));
      };
      const timer = setTimeout(() => {
        this.#watchers.delete(watcher);
        resolve();
      }, ms);
      this.#watchers.add(watcher);
    });
  }

  close(code?: number, reason?: string): Promise<CloseReason> {
    if (!this.#closedWith) this.#ws.close(code, reason);
    return this.closed;
  }

  #arrived(message: Message): void {
    this.#received += 1;
    this.#recent.push(preview(message));
    if (this.#recent.length > RECENT) this.#recent.shift();
    for (const watcher of this.#watchers) watcher(message);
    const waiter = this.#waiters.shift();
    if (waiter) waiter.resolve(message);
    else this.#queue.push(message);
  }

  #closedError(): Error {
    const { code, reason } = this.#closedWith!;
    return new Error(`${this.#label}: closed with ${code}${reason ? ` ${JSON.stringify(reason)}` : ''} before a message arrived ${this.#history()}`);
  }

  /** What the socket had received, for a failure message: `(received 2 before: "a", "b")`. */
  #history(): string {
    if (this.#received === 0) return '(nothing received before)';
    const last = this.#received > RECENT ? `, the last ${RECENT}` : '';
    return `(received ${this.#received} before${last}: ${this.#recent.join(', ')})`;
  }
}

/**
 * Opens a socket to `url`, sending the jar's cookies and keeping those of the upgrade response.
 * Resolves once open; rejects with an UpgradeRefusedError when the server answers with HTTP.
 * Until it closes, `open` holds a function that cuts it, for its app's close().
 */
export function openSocket(url: URL, label: string, jar: CookieJar, open: Set<() => Promise<void>>, options: SocketOptions = {}): Promise<TestSocket> {
  const callsite = new Error();
  const timeout = options.timeout ?? DEFAULT_TIMEOUT;
  const headers = { ...options.headers };
  if (!Object.keys(headers).some((name) => name.toLowerCase() === 'cookie')) {
    const cookie = jar.header(url);
    if (cookie) headers.cookie = cookie;
  }
  const ws = new WebSocket(url, options.protocols ?? [], { headers, autoPong: options.autoPong ?? true });
  const cut = () => terminate(ws);
  open.add(cut);
  ws.once('close', () => open.delete(cut));
  const socket = new QueuedSocket(ws, label, timeout);
  const keepCookies = (res: IncomingMessage) => jar.store(res.headers['set-cookie'] ?? [], url);

  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(thrownAt(callsite, error));
    };
    const timer = setTimeout(() => {
      fail(new Error(`${label}: not open within ${timeout} ms`));
      ws.terminate();
    }, timeout);
    ws.once('upgrade', (res) => {
      socket.upgraded(res);
      keepCookies(res);
    });
    ws.once('unexpected-response', (_req, res) => {
      keepCookies(res);
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.once('end', () => {
        fail(new UpgradeRefusedError(label, res.statusCode ?? 0, res.headers, body, res.statusMessage));
        ws.terminate();
      });
    });
    // Kept after the socket opens: ws emits 'error' on a protocol violation, then 'close', which
    // is what a test sees (closed, and recv rejecting with the code).
    ws.on('error', (error) => fail(new Error(`${label}: could not connect: ${error.message}`)));
    ws.once('open', () => {
      settled = true;
      clearTimeout(timer);
      resolve(socket);
    });
  });
}

/** Cuts a socket (no closing handshake) and resolves once it has closed. */
function terminate(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  ws.terminate();
  return closed;
}

/** `"text"` (cut at 80 characters) or `<binary, 5 bytes>`. */
function preview(message: Message): string {
  if (typeof message !== 'string') return `<binary, ${message.length} bytes>`;
  return JSON.stringify(message.length > 80 ? `${message.slice(0, 80)}…` : message);
}

/**
 * `error` with the stack of `callsite`: a failure detected in a timer or an event would otherwise
 * point at this file, not at the test line that awaited it.
 */
function thrownAt<E extends Error>(callsite: Error, error: E): E {
  // Line 0 is the callsite's own message, line 1 the helper method that made it.
  const frames = callsite.stack?.split('\n').slice(2).join('\n');
  if (frames) error.stack = `${error.name}: ${error.message}\n${frames}`;
  return error;
}
