// Graceful shutdown for a Node HTTP server: stop accepting, let in-flight requests finish, close
// keep-alive connections as soon as they go idle, and cut whatever is left after a deadline.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

export class GracefulServer {
  readonly #server: Server;
  readonly #timeout: number;
  /** Responses not finished yet: those whose headers are still unsent learn of a close, too. */
  readonly #inFlight = new Set<ServerResponse>();
  #closing?: Promise<void>;

  constructor(server: Server, timeoutMs: number) {
    this.#server = server;
    this.#timeout = timeoutMs;
    server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
      if (this.#closing) res.setHeader('Connection', 'close');
      this.#inFlight.add(res);
      res.once('close', () => {
        this.#inFlight.delete(res);
        // A keep-alive connection that finishes its last response while we close is idle: drop it.
        if (this.#closing) setImmediate(() => server.closeIdleConnections());
      });
    });
  }

  close(): Promise<void> {
    // A request already in a handler would otherwise answer keep-alive, inviting a next request
    // onto a connection about to close.
    for (const res of this.#inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
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
