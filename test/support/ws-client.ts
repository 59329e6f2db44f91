// A WebSocket client for tests that awaits events instead of sleeping: every message is queued as
// it arrives, so `next()` never misses one, and a refused upgrade is read as the HTTP response it
// is. Clients still open after a test are cut, as start.ts closes apps.
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { afterEach } from 'vitest';
import { WebSocket, type ClientOptions } from 'ws';
// Evaluated first so its afterEach is registered first: hooks run as a stack, so clients are cut
// before their apps close, and app.close() never waits on a client that stopped reading.
import './start.js';

const open = new Set<WebSocket>();

afterEach(async () => {
  const sockets = [...open];
  open.clear();
  await Promise.all(
    sockets.map((ws) => {
      if (ws.readyState === WebSocket.CLOSED) return undefined;
      const closed = new Promise((resolve) => ws.once('close', resolve));
      ws.terminate();
      return closed;
    }),
  );
});

export interface ConnectOptions extends ClientOptions {
  headers?: Record<string, string>;
  protocols?: string | string[];
}

export interface CloseEvent {
  code: number;
  reason: string;
}

export interface Refusal {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface WsClient {
  /** The ws client itself, for what this wrapper does not cover (pings, the raw socket). */
  readonly ws: WebSocket;
  /** The server's 101 response. */
  readonly response: IncomingMessage;
  /** Settles with the close code and reason once the socket has closed, however it closed. */
  readonly closed: Promise<CloseEvent>;
  send(data: string | Buffer | Uint8Array): void;
  sendJson(value: unknown): void;
  /** The next message: a string for a text frame, a Buffer for a binary one. */
  next(timeoutMs?: number): Promise<string | Buffer>;
  /** The next message, which must be a text frame, parsed as JSON. */
  nextJson(timeoutMs?: number): Promise<unknown>;
  /** Starts the closing handshake and resolves once the socket has closed. */
  close(code?: number, reason?: string): Promise<CloseEvent>;
}

interface Waiter {
  resolve(message: string | Buffer): void;
  reject(error: Error): void;
}

/** `ws://host:port/path` for an app's `http://` url. */
export function wsUrl(app: { url: string }, path: string): string {
  return app.url.replace(/^http/, 'ws') + path;
}

function create(app: { url: string }, path: string, { headers, protocols, ...options }: ConnectOptions): WebSocket {
  const ws = new WebSocket(wsUrl(app, path), protocols ?? [], { ...options, headers });
  open.add(ws);
  ws.once('close', () => open.delete(ws));
  return ws;
}

/**
 * Opens a socket to `path` on `app`; resolves once it is open, rejects with the HTTP status when
 * the server refuses the upgrade.
 */
export function connect(app: { url: string }, path: string, options: ConnectOptions = {}): Promise<WsClient> {
  const ws = create(app, path, options);
  const queue: (string | Buffer)[] = [];
  const waiters: Waiter[] = [];
  let closedWith: CloseEvent | undefined;

  // Listening from the start: a frame sent by init can arrive with the 101 itself.
  ws.on('message', (data, isBinary) => {
    const message = isBinary ? (data as Buffer) : data.toString();
    const waiter = waiters.shift();
    if (waiter) waiter.resolve(message);
    else queue.push(message);
  });
  const closed = new Promise<CloseEvent>((resolve) => {
    ws.once('close', (code, reason) => {
      closedWith = { code, reason: reason.toString() };
      for (const waiter of waiters.splice(0)) waiter.reject(closedError(path, closedWith));
      resolve(closedWith);
    });
  });

  const next = (timeoutMs = 2000): Promise<string | Buffer> => {
    const queued = queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (closedWith) return Promise.reject(closedError(path, closedWith));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve: (message) => {
          clearTimeout(timer);
          resolve(message);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(waiter), 1);
        reject(new Error(`no message on ${path} within ${timeoutMs} ms`));
      }, timeoutMs);
      waiters.push(waiter);
    });
  };

  return new Promise((resolve, reject) => {
    let response: IncomingMessage | undefined;
    ws.once('upgrade', (res) => (response = res));
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      ws.terminate();
      reject(new Error(`upgrade of ${path} refused with HTTP ${res.statusCode}`));
    });
    ws.on('error', (error) => reject(error));
    ws.once('open', () =>
      resolve({
        ws,
        response: response!,
        closed,
        send: (data) => ws.send(data),
        sendJson: (value) => ws.send(JSON.stringify(value)),
        next,
        nextJson: async (timeoutMs) => {
          const message = await next(timeoutMs);
          if (typeof message !== 'string') throw new Error(`expected a text frame on ${path}, got ${message.length} binary bytes`);
          return JSON.parse(message) as unknown;
        },
        close: (code, reason) => {
          ws.close(code, reason);
          return closed;
        },
      }),
    );
  });
}

/** Attempts an upgrade that the server must refuse; resolves with the HTTP response it sent instead. */
export function refusal(app: { url: string }, path: string, options: ConnectOptions = {}): Promise<Refusal> {
  const ws = create(app, path, options);
  return new Promise((resolve, reject) => {
    let refused = false;
    ws.once('unexpected-response', (_req, res) => {
      refused = true;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.once('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        ws.terminate();
      });
    });
    ws.on('error', (error) => {
      if (!refused) reject(error);
    });
    ws.once('open', () => {
      ws.terminate();
      reject(new Error(`upgrade of ${path} was accepted, expected a refusal`));
    });
  });
}

function closedError(path: string, { code, reason }: CloseEvent): Error {
  return new Error(`socket on ${path} closed (${code}${reason ? ` ${reason}` : ''}) before the next message`);
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
}

/** A promise settled from elsewhere: how a gateway under test tells the test that it got somewhere. */
export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
