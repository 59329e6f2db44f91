// One gateway's share of the server: a ws server in noServer mode (the app's HTTP server owns the
// port and the 'upgrade' event), the connections it holds, their heartbeat, and their shutdown.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Middleware } from 'koa';
import { WebSocketServer, type Server } from 'ws';
import type { Class } from '../di/token.js';
import type { Security } from '../http/security.js';
import type { ConnectionIdentity } from './connection.js';
import { GatewayProcess, GatewaySocket, type GatewayRuntime } from './gateway-process.js';
import type { GatewayDefinition } from './gateway-table.js';
import { startHeartbeat } from './heartbeat.js';

export class GatewayServer {
  readonly #runtime: GatewayRuntime;
  readonly #wss: Server<typeof GatewaySocket>;
  readonly #processes = new Set<GatewayProcess>();
  readonly #heartbeat?: NodeJS.Timeout;
  readonly #extraHeaders = new WeakMap<IncomingMessage, readonly string[]>();

  constructor(runtime: GatewayRuntime) {
    this.#runtime = {
      ...runtime,
      terminated: (process) => {
        this.#processes.delete(process);
        runtime.meter.open -= 1;
        runtime.meter.ended(process.openedAt);
      },
    };
    const { maxPayload, maxFragments, compression, heartbeat } = runtime.definition;
    this.#wss = new WebSocketServer({
      noServer: true,
      // ws checks it against the inflated size too, so a compression bomb is refused with 1009.
      maxPayload,
      maxFragments,
      // Compression costs memory per socket and CPU per send; off unless the gateway asks (compression.ts).
      perMessageDeflate: compression,
      // We track our own processes; ws's set would be a second reference to every socket.
      clientTracking: false,
      WebSocket: GatewaySocket,
    });
    this.#wss.on('headers', (lines, req) => {
      const extra = this.#extraHeaders.get(req);
      if (!extra) return;
      lines.push(...extra);
      // Used once: gone now, not when the request is collected (a WeakMap's table only shrinks as entries go).
      this.#extraHeaders.delete(req);
    });
    this.#heartbeat = startHeartbeat(heartbeat, this.#processes);
  }

  get connectionCount(): number {
    return this.#processes.size;
  }

  /** The gateway class. */
  get gateway(): Class {
    return this.#runtime.definition.gateway;
  }

  /** The gateway's path as declared, e.g. `/rooms/:room`. */
  get path(): string {
    return this.#runtime.definition.path;
  }

  /** The path parameters when `path` is this gateway's, else false. */
  match(path: string): ReturnType<GatewayDefinition['match']> {
    return this.#runtime.definition.match(path);
  }

  /** Origins an upgrade may come from besides the gateway's own, or '*': any. */
  get origins(): ReadonlySet<string> | '*' {
    return this.#runtime.definition.origins;
  }

  /** Run on the upgrade request, after sessions and before security. */
  get middleware(): readonly Middleware[] {
    return this.#runtime.definition.middleware;
  }

  /** What an upgrade must pass to be accepted. */
  get security(): Security {
    return this.#runtime.definition.security;
  }

  /** The gateway's (or its module's) @FallbackController class: security's results are rendered through it if need be. */
  get fallback(): Class | undefined {
    return this.#runtime.definition.fallback;
  }

  /**
   * Completes the handshake (ws answers 400 itself to a malformed one) and starts the connection's
   * process. `headers` (e.g. a cookie set by upgrade middleware) go on the 101 response.
   */
  accept(req: IncomingMessage, socket: Duplex, head: Buffer, identity: ConnectionIdentity, headers: readonly string[]): void {
    if (headers.length > 0) this.#extraHeaders.set(req, headers);
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      const process = new GatewayProcess(ws, this.#runtime, identity);
      this.#processes.add(process);
      this.#runtime.meter.open += 1;
    });
  }

  /**
   * Closes every connection with 1001 and waits for their `terminate`; peers that do not finish
   * the close handshake by `deadline` are cut.
   */
  async close(deadlineMs: number): Promise<void> {
    clearInterval(this.#heartbeat);
    const processes = [...this.#processes];
    for (const process of processes) process.close(1001, 'server shutting down');
    const all = Promise.all(processes.map((p) => p.terminated));
    const timer = setTimeout(() => processes.forEach((p) => p.kill()), deadlineMs);
    timer.unref();
    await all;
    clearTimeout(timer);
    this.#wss.close();
  }
}
