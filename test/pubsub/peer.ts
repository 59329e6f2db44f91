// The client side of the test gateway in support.ts: a WebSocket that keeps every frame it gets, so
// a test awaits a message arriving (or the next `count`) instead of sleeping, and runs PubSub calls
// in its connection's gateway.
import { WebSocket as WsClient } from 'ws';
import type { PubSubMessage } from 'vela';

/** A WebSocket client that keeps what arrives and lets a test await it. */
export class Peer {
  readonly id: string;
  /** Settles with the close code and reason once the socket has closed. */
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly #ws: WsClient;
  readonly #frames: Record<string, unknown>[] = [];
  #read = 0;
  readonly #acks = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  #ref = 0;
  readonly #waiters = new Set<() => void>();
  #isClosed = false;

  private constructor(ws: WsClient, id: string) {
    this.#ws = ws;
    this.id = id;
    ws.on('message', (data) => this.#onFrame(JSON.parse(String(data)) as Record<string, unknown>));
    this.closed = new Promise((resolve) =>
      ws.once('close', (code, reason) => {
        this.#isClosed = true;
        for (const { reject } of this.#acks.values()) reject(new Error(`${id} closed with ${code} before its call was answered`));
        this.#acks.clear();
        for (const wake of [...this.#waiters]) wake();
        resolve({ code, reason: reason.toString() });
      }),
    );
  }

  /** Opens `path` (default the PubSubGateway) on `app` with `headers` (a cookie) and waits for the gateway's greeting. */
  static connect(app: { url: string }, options: { path?: string; join?: readonly string[]; headers?: Record<string, string> } = {}): Promise<Peer> {
    const query = options.join?.length ? `?join=${options.join.map(encodeURIComponent).join(',')}` : '';
    const ws = new WsClient(`${app.url.replace(/^http/, 'ws')}${options.path ?? '/pubsub'}${query}`, { headers: options.headers });
    return new Promise((resolve, reject) => {
      const closed = (code: number) => reject(new Error(`closed with ${code} before the gateway's greeting`));
      ws.once('error', reject);
      ws.once('close', closed);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused with ${res.statusCode}`)));
      ws.once('message', (data) => {
        ws.off('error', reject);
        ws.off('close', closed);
        const hello = JSON.parse(String(data)) as { hello?: string };
        if (typeof hello.hello !== 'string') return reject(new Error(`expected a greeting, got ${String(data)}`));
        resolve(new Peer(ws, hello.hello));
      });
    });
  }

  /** Runs `pubsub[op](...)` in this connection's gateway; resolves with its result once it settled. */
  call<T = unknown>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    const ref = (this.#ref += 1);
    return new Promise<T>((resolve, reject) => {
      this.#acks.set(ref, { resolve: resolve as (value: unknown) => void, reject });
      this.#ws.send(JSON.stringify({ event: 'call', data: { ref, op, args } }));
    });
  }

  broadcast(channel: string, topic: string, payload: unknown = null): Promise<unknown> {
    return this.call('broadcast', { channel, topic, payload });
  }

  /** Posts `message` to this connection's own @OnInfo (conn.info). */
  sendSelf(message: unknown): void {
    this.#ws.send(JSON.stringify({ event: 'self', data: message }));
  }

  /** Frames that arrived and were not taken yet. */
  get unread(): number {
    return this.#frames.length - this.#read;
  }

  /** The next frame that is not an answer to a call: an info relayed by the gateway. */
  next<T = PubSubMessage>(timeoutMs = 5_000): Promise<T> {
    return this.#until(() => (this.unread > 0 ? (this.#frames[this.#read++] as T) : undefined), 'the next message', timeoutMs);
  }

  /** The next `count` frames, in arrival order. */
  take<T = PubSubMessage>(count: number, timeoutMs = 5_000): Promise<T[]> {
    return this.#until(
      () => {
        if (this.unread < count) return undefined;
        const taken = this.#frames.slice(this.#read, this.#read + count) as T[];
        this.#read += count;
        return taken;
      },
      `${count} messages`,
      timeoutMs,
    );
  }

  /** Closes from the client side and waits for the socket to be closed. */
  async close(): Promise<void> {
    this.#ws.close();
    await this.closed;
  }

  #onFrame(frame: Record<string, unknown>): void {
    if (typeof frame.ack === 'number') {
      const pending = this.#acks.get(frame.ack);
      this.#acks.delete(frame.ack);
      if (typeof frame.error === 'string') pending?.reject(new Error(frame.error));
      else pending?.resolve(frame.result);
      return;
    }
    this.#frames.push(frame);
    for (const wake of [...this.#waiters]) wake();
  }

  #until<T>(check: () => T | undefined, what: string, timeoutMs: number): Promise<T> {
    const now = check();
    if (now !== undefined) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const fail = (why: string) => {
        clearTimeout(timer);
        this.#waiters.delete(wake);
        reject(new Error(`${this.id}: ${why} waiting for ${what}; unread: ${JSON.stringify(this.#frames.slice(this.#read, this.#read + 5))}`));
      };
      const timer = setTimeout(() => fail(`timed out after ${timeoutMs} ms`), timeoutMs);
      const wake = () => {
        const value = check();
        if (value !== undefined) {
          clearTimeout(timer);
          this.#waiters.delete(wake);
          resolve(value);
        } else if (this.#isClosed) {
          fail('closed');
        }
      };
      this.#waiters.add(wake);
    });
  }
}

/** Peers by position; the first three are typed as present so tests can destructure them. */
export type Peers = Peer[] & { 0: Peer; 1: Peer; 2: Peer };

/** Connects `count` peers at once, all joined to `join`. */
export async function connectMany(app: { url: string }, count: number, join: readonly string[] = []): Promise<Peers> {
  return (await Promise.all(Array.from({ length: count }, () => Peer.connect(app, { join })))) as Peers;
}
