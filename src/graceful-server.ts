// Graceful shutdown for a Node HTTP server: stop accepting, let in-flight requests finish, close
// keep-alive connections as soon as they go idle, and cut whatever is left after a deadline.
// Nothing is done per request: responses finishing during a close are told `Connection: close` by
// the app's error boundary (see bootstrap), and idle connections are swept while the close lasts.
import type { Server } from 'node:http';

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
