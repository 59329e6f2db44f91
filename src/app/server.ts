// The app's HTTP server: Node's server with Vela's limits on slow clients (slowloris), listening
// with errors that say what to do, and a graceful close that lets in-flight requests finish, drops
// keep-alive connections as soon as they go idle, and cuts whatever is left after a deadline.
// Nothing is done per request: responses finishing during a close are told `Connection: close` by
// the app's error boundary (see bootstrap), and idle connections are swept while the close lasts.
import { createServer, type RequestListener, type Server } from 'node:http';
import { ConfigError, describeValue } from './errors.js';

/**
 * The server's limits on slow clients (Node's `http.createServer` options of the same meaning), in
 * ms. Without them a client that trickles its headers a byte at a time (slowloris) holds a socket
 * for minutes: Node's own defaults are 60 s for headers, checked only every 30 s.
 *
 * @example bootstrap(AppModule, { timeouts: { headers: 5_000, keepAlive: 65_000 } })
 */
export interface ServerTimeouts {
  /** Time to send the request line and every header, WebSocket upgrades included (`headersTimeout`); then 408 and the socket is closed. Default 10 000; 0 turns it off. */
  headers?: number;
  /** Time to send the whole request, body included (`requestTimeout`); at least `headers`. Default 60 000; 0 turns it off. */
  request?: number;
  /** How long an idle keep-alive connection is kept (`keepAliveTimeout`); behind a load balancer, make it longer than the balancer's. Default 5 000. */
  keepAlive?: number;
  /** How often connections are checked against `headers` and `request` (`connectionsCheckingInterval`), so a timeout fires at most this late. Default 1 000. */
  checkInterval?: number;
}

/** Node's HTTP server with `timeouts` (already checked by serverTimeouts). */
export function createHttpServer(timeouts: Required<ServerTimeouts>, listener: RequestListener): Server {
  return createServer(
    {
      headersTimeout: timeouts.headers,
      requestTimeout: timeouts.request,
      keepAliveTimeout: timeouts.keepAlive,
      connectionsCheckingInterval: timeouts.checkInterval,
    },
    listener,
  );
}

export function resolvePort(port: number | undefined): number {
  const chosen = port ?? (process.env.PORT ? Number(process.env.PORT) : 8080);
  if (!Number.isInteger(chosen) || chosen < 0 || chosen > 65535) {
    throw new ConfigError(`Port ${String(port ?? process.env.PORT)} is not a valid port: use 0–65535 (0 picks a free port).`);
  }
  return chosen;
}

const DEFAULT_TIMEOUTS: Required<ServerTimeouts> = { headers: 10_000, request: 60_000, keepAlive: 5_000, checkInterval: 1_000 };

/** `timeouts` with the defaults filled in, or a ConfigError naming the bad entry. */
export function serverTimeouts(timeouts: ServerTimeouts | undefined): Required<ServerTimeouts> {
  if (timeouts === undefined) return DEFAULT_TIMEOUTS;
  if (typeof timeouts !== 'object' || timeouts === null || Array.isArray(timeouts)) {
    throw new ConfigError(`bootstrap timeouts must be an object such as { headers: 10_000 }, got ${describeValue(timeouts)}.`);
  }
  const names = Object.keys(DEFAULT_TIMEOUTS);
  for (const key of Object.keys(timeouts)) {
    if (!names.includes(key)) {
      throw new ConfigError(`bootstrap timeouts has no option '${key}': use ${names.join(', ')} (milliseconds).`);
    }
  }
  const chosen = { ...DEFAULT_TIMEOUTS };
  for (const key of names as (keyof ServerTimeouts)[]) {
    const value = timeouts[key];
    if (value === undefined) continue;
    const least = key === 'checkInterval' ? 1 : 0;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < least) {
      const off = least === 0 ? ' (0 turns it off)' : '';
      throw new ConfigError(`bootstrap timeouts.${key} must be a whole number of milliseconds ≥ ${least}${off}, got ${describeValue(value)}.`);
    }
    chosen[key] = value;
  }
  if (chosen.request > 0 && chosen.headers > chosen.request) {
    throw new ConfigError(
      `bootstrap timeouts.headers (${chosen.headers} ms) is longer than timeouts.request (${chosen.request} ms), which includes the headers: ` +
        `lower headers, raise request, or set request to 0 to turn it off.`,
    );
  }
  return chosen;
}

/**
 * Connections the kernel completes and holds while the process is busy, before the app accepts them
 * (capped by the system's net.core.somaxconn). Node's default, 511, overflows in a reconnect storm
 * while the event loop is busy with a fan-out: the overflow's SYNs are dropped and the clients retry
 * after 1 s, 3 s, 7 s. 4,096 lets a storm wait in the queue instead.
 */
export const LISTEN_BACKLOG = 4_096;

export function listen(server: Server, port: number, host: string | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') {
        reject(new ConfigError(`Port ${port} is already in use: stop the other server, or set PORT / bootstrap({ port }).`, { cause: error }));
      } else {
        reject(error);
      }
    };
    server.once('error', onError);
    server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

export function urlHost(host: string | undefined): string {
  if (!host || host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/** How often connections that went idle during a close are dropped. */
const IDLE_SWEEP_MS = 50;

export class GracefulServer {
  readonly #server: Server;
  readonly #timeout: number;
  #closing?: Promise<void>;

  constructor(server: Server, timeoutMs: number) {
    this.#server = server;
    this.#timeout = timeoutMs;
  }

  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(() => this.#server.closeAllConnections(), this.#timeout);
      deadline.unref();
      // A keep-alive connection whose last response finishes during the close is idle: drop it
      // then, not at the deadline.
      const sweep = setInterval(() => this.#server.closeIdleConnections(), IDLE_SWEEP_MS);
      sweep.unref();
      this.#server.close((error) => {
        clearTimeout(deadline);
        clearInterval(sweep);
        // Closing a server that never listened is not a failure of close().
        if (error && (error as NodeJS.ErrnoException).code !== 'ERR_SERVER_NOT_RUNNING') reject(error);
        else resolve();
      });
      this.#server.closeIdleConnections();
    });
    return this.#closing;
  }
}
