// Shared by the WebSocket battery tests (test/ws: load, faults, input, origin, depth): a raw client that writes frames byte for byte (what no
// well-behaved library would send) and reads the server's frames, and ways to see that the server
// kept nothing of a connection once it is gone: a forced GC that shows its Connection (and so its
// process, timers and listeners) was collected, the Hub's sizes, the HTTP server's socket count.
import { randomBytes } from 'node:crypto';
import { connect as tcpConnect, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach } from 'vitest';
import type { WebSocket } from 'ws';
import { Module, reply, type Class, type CloseReason, type Connection } from 'vela';
import type { Hub } from '../../src/pubsub/hub.js';
// First, so that its afterEach (closing apps) is registered before ours: hooks run as a stack, so
// raw clients are cut before their app closes, which would otherwise wait out shutdownTimeout for
// a close handshake a raw client never answers.

const rawClients = new Set<Socket>();

afterEach(async () => {
  const sockets = [...rawClients];
  rawClients.clear();
  await Promise.all(
    sockets.map((socket) => {
      if (socket.closed) return undefined;
      const closed = new Promise((resolve) => socket.once('close', resolve));
      socket.destroy();
      return closed;
    }),
  );
});

import { withHub } from '../pubsub/support.js';
import { startTestApp, type TestApp } from 'vela/testing';

export { connectionCount } from '../reliability/http-support.js';
export { eventually, withHub } from '../pubsub/support.js';

/**
 * An app of `gateway` alone, on a free port, with its Hub reachable; `development` boots it with
 * NODE_ENV=development (StatusPages reads it once, at bootstrap).
 */
export async function serveGateway(gateway: Class, options: { development?: boolean } = {}): Promise<{ app: TestApp; hub: () => Hub }> {
  @Module({ gateways: [gateway] })
  class AppModule {}
  const { adapter, hub } = withHub();
  const before = process.env.NODE_ENV;
  if (options.development) process.env.NODE_ENV = 'development';
  try {
    return { app: await startTestApp(AppModule, { pubsub: adapter }), hub };
  } finally {
    process.env.NODE_ENV = before;
  }
}

/** The TCP socket under a ws client (ws's own `_socket`), or under vela/testing's socket. */
export function socketOf(client: { raw: WebSocket } | WebSocket): Socket {
  const ws = 'raw' in client ? client.raw : client;
  return (ws as unknown as { _socket: Socket })._socket;
}

/** Every map of a Hub that holds nothing. */
export const EMPTY_HUB: Hub['sizes'] = { channels: 0, snapshots: 0, members: 0, connections: 0, sessions: 0 };

/**
 * A full garbage collection. Vitest cannot pass --expose-gc to one file's worker, so the flag is
 * set at run time and `gc` taken from a new context, which sees it (as Jest's leak detector does).
 */
export const gc: () => void =
  (globalThis as { gc?: () => void }).gc ??
  (() => {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  })();

/**
 * Resolves once `ref`'s target has been collected: nothing (a server set, a timer, a listener, a
 * closure) holds it any more. A WeakRef target survives the job that made it, hence the turns.
 */
export async function collected(ref: WeakRef<object>, what: string, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (ref.deref() !== undefined) {
    if (Date.now() > deadline) throw new Error(`${what} was still reachable ${timeoutMs} ms after it closed: something holds it`);
    await new Promise((resolve) => setImmediate(resolve));
    gc();
  }
}

/**
 * Reads the stack of every Error a memory logger kept. Until its stack is read, V8 keeps an Error's
 * frames with their receivers (a failed gateway callback's frames hold the gateway instance, and
 * so its Connection): a log that keeps unformatted errors would keep those alive, not Vela.
 */
export function formatLoggedStacks(entries: readonly { fields: Record<string, unknown> }[]): void {
  for (const { fields } of entries) if (fields.error instanceof Error) void fields.error.stack;
}

/**
 * heapUsed + external (ArrayBuffers included) after a full GC, in bytes. Twice: V8 frees the memory
 * of dead ArrayBuffers on a background sweeper, which the second collection waits for (after one,
 * `external` still counted ~6 MiB of a stream's garbage).
 */
export function retainedBytes(): number {
  gc();
  gc();
  const { heapUsed, external } = process.memoryUsage();
  return heapUsed + external;
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/**
 * What a test gateway reports of its connections: each init, each terminate with its reason (two
 * for one id would be a terminate run twice), and a WeakRef to each Connection, to see it collected.
 */
export class Lifecycle {
  readonly inits: string[] = [];
  readonly terminations = new Map<string, CloseReason[]>();
  readonly #refs = new Map<string, WeakRef<Connection>>();
  readonly #waiters = new Set<() => void>();

  init(conn: Connection): void {
    this.inits.push(conn.id);
    this.#refs.set(conn.id, new WeakRef(conn));
  }

  terminate(conn: Connection, reason: CloseReason): void {
    this.terminations.set(conn.id, [...(this.terminations.get(conn.id) ?? []), reason]);
    for (const wake of [...this.#waiters]) wake();
  }

  /** The reason `id` closed with, once its terminate has run. */
  terminated(id: string, timeoutMs = 3_000): Promise<CloseReason> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`connection ${id} did not terminate within ${timeoutMs} ms`));
      }, timeoutMs);
      const check = () => {
        const reasons = this.terminations.get(id);
        if (!reasons) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(reasons[0]!);
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** Once `id` has terminated, resolves when nothing in the server holds its Connection any more. */
  async gone(id: string): Promise<void> {
    await this.terminated(id);
    const ref = this.#refs.get(id);
    if (!ref) throw new Error(`connection ${id} never ran init`);
    await collected(ref, `connection ${id}`);
  }
}

/**
 * A base for test gateways that report to `life`: init records the connection (and, with `sendId`,
 * sends its id as the first frame), terminate records how it ended.
 */
export function Tracked(life: Lifecycle, { sendId = true }: { sendId?: boolean } = {}) {
  return class TrackedGateway {
    conn!: Connection;

    init(conn: Connection): unknown {
      this.conn = conn;
      life.init(conn);
      return sendId ? reply(conn.id) : undefined;
    }

    terminate(reason: CloseReason): unknown {
      life.terminate(this.conn, reason);
      return undefined;
    }
  };
}

export const OPCODE = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

export interface FrameOptions {
  fin?: boolean;
  /** RSV1–3 as bits 4, 2, 1 (RSV1 = 4). */
  rsv?: number;
  /** A client must mask (RFC 6455 §5.3); false writes the frame as a server would. */
  masked?: boolean;
  /** Overrides the length in the header (a frame that announces more than it carries). */
  announcedLength?: bigint;
}

/** One frame as a client writes it, with a random mask unless `masked: false`. */
export function frame(opcode: number, payload: Buffer | string = Buffer.alloc(0), options: FrameOptions = {}): Buffer {
  const { fin = true, rsv = 0, masked = true, announcedLength } = options;
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const length = announcedLength ?? BigInt(data.length);
  const extended = length < 126n ? 0 : length < 0x10000n ? 2 : 8;
  const header = Buffer.alloc(2 + extended + (masked ? 4 : 0));
  header[0] = (fin ? 0x80 : 0) | (rsv << 4) | opcode;
  header[1] = (masked ? 0x80 : 0) | (extended === 0 ? Number(length) : extended === 2 ? 126 : 127);
  if (extended === 2) header.writeUInt16BE(Number(length), 2);
  if (extended === 8) header.writeBigUInt64BE(length, 2);
  if (!masked) return Buffer.concat([header, data]);
  const mask = randomBytes(4);
  mask.copy(header, 2 + extended);
  const body = Buffer.from(data);
  for (let i = 0; i < body.length; i += 1) body[i]! ^= mask[i & 3]!;
  return Buffer.concat([header, body]);
}

export interface ServerFrame {
  opcode: number;
  payload: Buffer;
  /** RSV1 set: the message is compressed (permessage-deflate). Absent otherwise. */
  compressed?: true;
}

/**
 * A WebSocket client on a bare TCP socket: the upgrade request and every frame written as given,
 * every frame the server sends parsed and kept in order.
 */
export class RawClient {
  readonly frames: ServerFrame[] = [];
  /** Settles when the TCP connection has closed, either way. */
  readonly closed: Promise<void>;
  #pending: Buffer = Buffer.alloc(0);
  #wake: (() => void) | undefined;

  private constructor(
    readonly socket: Socket,
    readonly statusLine: string,
    rest: Buffer,
  ) {
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.#take(chunk));
    socket.on('close', () => this.#wake?.());
    this.#take(rest);
  }

  /** Opens `path` with a valid handshake; rejects unless the server answers 101. */
  static open(app: { port: number }, path: string, headers: Record<string, string> = {}): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = tcpConnect(app.port, '127.0.0.1');
      rawClients.add(socket);
      socket.once('close', () => rawClients.delete(socket));
      socket.on('error', reject);
      let head = Buffer.alloc(0);
      const onData = (chunk: Buffer) => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onData);
        socket.off('error', reject);
        // The client's own resets and EPIPEs are what some tests do on purpose.
        socket.on('error', () => {});
        const statusLine = head.subarray(0, head.indexOf('\r\n')).toString('latin1');
        if (!statusLine.startsWith('HTTP/1.1 101')) {
          socket.destroy();
          reject(new Error(`upgrade of ${path} refused: ${statusLine}`));
          return;
        }
        resolve(new RawClient(socket, statusLine, head.subarray(end + 4)));
      };
      socket.on('data', onData);
      socket.write(upgradeRequest(app, path, headers));
    });
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** The next frame from the server; rejects if the connection closes first. */
  async next(timeoutMs = 2_000): Promise<ServerFrame> {
    if (this.frames.length === 0) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no frame from the server within ${timeoutMs} ms`)), timeoutMs);
        this.#wake = () => {
          if (this.frames.length === 0 && !this.socket.destroyed) return;
          clearTimeout(timer);
          this.#wake = undefined;
          resolve();
        };
        this.#wake();
      });
    }
    const next = this.frames.shift();
    if (!next) throw new Error('the server closed the connection before sending a frame');
    return next;
  }

  /** Reads frames up to the server's close frame: its code and reason. */
  async closeFrame(timeoutMs = 2_000): Promise<{ code: number; reason: string }> {
    for (;;) {
      const { opcode, payload } = await this.next(timeoutMs);
      if (opcode === OPCODE.close) return { code: payload.length >= 2 ? payload.readUInt16BE(0) : 1005, reason: payload.subarray(2).toString() };
    }
  }

  #take(chunk: Buffer): void {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    for (;;) {
      const parsed = parseServerFrame(this.#pending);
      if (!parsed) break;
      this.frames.push(parsed.frame);
      this.#pending = this.#pending.subarray(parsed.size);
    }
    this.#wake?.();
  }
}

/** `GET path` with a valid handshake; a header given as '' is left out. */
export function upgradeRequest(app: { port: number }, path: string, headers: Record<string, string> = {}): string {
  const all: Record<string, string> = {
    Host: `127.0.0.1:${app.port}`,
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
    'Sec-WebSocket-Version': '13',
    ...headers,
  };
  const lines = Object.entries(all).flatMap(([name, value]) => (value === '' ? [] : [`${name}: ${value}`]));
  return `GET ${path} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`;
}

function parseServerFrame(buffer: Buffer): { frame: ServerFrame; size: number } | undefined {
  if (buffer.length < 2) return undefined;
  const short = buffer[1]! & 0x7f;
  const offset = short < 126 ? 2 : short === 126 ? 4 : 10;
  if (buffer.length < offset) return undefined;
  const length = short < 126 ? short : short === 126 ? buffer.readUInt16BE(2) : Number(buffer.readBigUInt64BE(2));
  if (buffer.length < offset + length) return undefined;
  const frame: ServerFrame = { opcode: buffer[0]! & 0x0f, payload: Buffer.from(buffer.subarray(offset, offset + length)) };
  if (buffer[0]! & 0x40) frame.compressed = true;
  return { frame, size: offset + length };
}
