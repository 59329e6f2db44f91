// The public face of one WebSocket connection, handed to gateway callbacks and kept by whoever
// wants to reach the client later. Its work is done by the connection's process (gateway-process.ts).
import type { IncomingHttpHeaders } from 'node:http';
import type { Frame } from './frames.js';

/** The upgrade request, as the gateway saw it. */
export interface ConnectionRequest {
  path: string;
  query: Readonly<Record<string, string | string[] | undefined>>;
  /** Path parameters of the gateway's path, e.g. `{ room: 'lobby' }` for `/rooms/:room`. */
  params: Readonly<Record<string, string | string[]>>;
  headers: IncomingHttpHeaders;
}

/** Why a connection ended: the WebSocket close code and reason. */
export interface CloseReason {
  code: number;
  reason: string;
}

/** What a connection's process does for it; kept private so the Connection stays a small surface. */
export interface ConnectionDriver {
  send(frame: Frame): boolean;
  info(message: unknown): void;
  close(code?: number, reason?: string): void;
  readonly open: boolean;
}

export class Connection {
  readonly #driver: ConnectionDriver;

  constructor(
    /** Unique and short; the sender id in pub/sub messages. */
    readonly id: string,
    readonly request: ConnectionRequest,
    /** What the gateway's security function returned, when it returned an object. */
    readonly auth: unknown,
    /** The client's session id (from the `session_id` cookie), once sessions are enabled. */
    readonly sessionId: string | undefined,
    driver: ConnectionDriver,
  ) {
    this.#driver = driver;
  }

  /**
   * Sends a frame now. False when the socket is no longer open, or for a `json(value)` that cannot
   * be encoded (logged as an error): the frame is dropped, the connection stays as it was.
   */
  send(frame: Frame): boolean {
    return this.#driver.send(frame);
  }

  /** Posts a message to this connection's `@OnInfo` handlers, after whatever it is handling now. */
  info(message: unknown): void {
    this.#driver.info(message);
  }

  /** Closes the connection; `terminate` runs once it has closed. */
  close(code?: number, reason?: string): void {
    this.#driver.close(code, reason);
  }

  get open(): boolean {
    return this.#driver.open;
  }
}
