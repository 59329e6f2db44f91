// Graceful shutdown for a Node HTTP server: stop accepting, let in-flight requests finish, close
// keep-alive connections as soon as they go idle, and cut whatever is left after a deadline.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

export class GracefulServer {
  readonly #server: Server;
  readonly #timeout: number;
  #closing?: Promise<void>;

  constructor(server: Server, timeoutMs: number) {
    this.#server = server;
    this.#timeout = timeoutMs;
    server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
      if (this.#closing) res.setHeader('Connection', 'close');
      // A keep-alive connection that finishes its last response while we close is idle: drop it.
      res.once('finish', () => {
        if (this.#closing) setImmediate(() => server.closeIdleConnections());
      });
    });
  }

  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(() => this.#server.closeAllConnections(), this.#timeout);
      deadline.unref();
      this.#server.close((error) => {
        clearTimeout(deadline);
        // Closing a server that never listened is not a failure of close().
        if (error && (error as NodeJS.ErrnoException).code !== 'ERR_SERVER_NOT_RUNNING') reject(error);
        else resolve();
      });
      this.#server.closeIdleConnections();
    });
    return this.#closing;
  }
}
