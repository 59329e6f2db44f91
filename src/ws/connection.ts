// The public face of one WebSocket connection, handed to gateway callbacks and kept by whoever
// wants to reach the client later. Its work is done by the connection's process (gateway-process.ts).
import type { IncomingHttpHeaders } from 'node:http';
import type { Frame } from './frames.js';
import type { RequestFn, RequestOptions } from './server-requests.js';

/** The upgrade request, as the gateway saw it. */
export interface ConnectionRequest {
  path: string;
  query: Readonly<Record<string, string | string[] | undefined>>;
  /**
   * Path parameters of the gateway's path, as strings like an HTTP route's `ctx.params`:
   * `{ room: 'lobby' }` for `/rooms/:room`; a wildcard's segments joined by '/' (`{ rest: 'a/b' }`
   * for `/files/*rest`); an optional parameter absent from the path is not a key.
   */
  params: Readonly<Record<string, string>>;
  headers: IncomingHttpHeaders;
}

/** Who the client is, as the upgrade established it. */
export interface ConnectionIdentity {
  id: string;
  request: ConnectionRequest;
  auth: unknown;
  sessionId: string | undefined;
  /** The id vela/client keeps for its page's life (`vela_client`), if it sent one. */
  clientId?: string;
  /** Channel → the last position the client received there (`vela_pos`), when it reconnects. */
  positions?: ReadonlyMap<string, string>;
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
  request(event: string, data: unknown, options?: RequestOptions): Promise<unknown>;
  readonly open: boolean;
}

export class Connection {
  readonly #driver: ConnectionDriver;
  /** The upgrade request, turned into `request` on first read (then a function too). */
  #request: ConnectionRequest | (ConnectionRequest & RequestFn);

  constructor(
    /** Unique and short; the sender id in pub/sub messages. */
    readonly id: string,
    request: ConnectionRequest,
    /** What the gateway's security function returned, when it returned an object. */
    readonly auth: unknown,
    /** The client's session id (from the `session_id` cookie), once sessions are enabled. */
    readonly sessionId: string | undefined,
    driver: ConnectionDriver,
  ) {
    this.#driver = driver;
    this.#request = request;
  }

  /**
   * The upgrade request (`path`, `query`, `params`, `headers`), and a function: a request to the
   * client, answered by its `socket.onRequest(event, handler)`. Resolves with the answer's value;
   * rejects with a WsError, code the client's, 'timeout', 'closed' (the connection closed first) or
   * 'overloaded' (1 000 already wait). Made on first read: an idle socket pays nothing for it.
   *
   * @example
   * const room = conn.request.params.room;
   * const confirmed = await conn.request<boolean>('confirm', { text }, { timeout: 5_000 });
   */
  get request(): ConnectionRequest & RequestFn {
    const upgrade = this.#request;
    if (typeof upgrade === 'function') return upgrade;
    const driver = this.#driver;
    const { path, query, params, headers } = upgrade;
    const request = (event: string, data?: unknown, options?: RequestOptions) => driver.request(event, data, options);
    return (this.#request = Object.assign(request as RequestFn, { path, query, params, headers }));
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
