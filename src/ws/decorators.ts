// Gateway decorators. As for controllers, each only records plain data; gateway-table.ts
// validates it at bootstrap.
import type { Middleware } from 'koa';
import type { Class } from '../di/token.js';
import { metadata } from '../app/metadata.js';
import type { Security } from '../http/security.js';
import type { Infer, Schema } from '../validation/schema.js';
import type { CompressionOptions } from './compression.js';
import type { Connection } from './connection.js';

export interface WebSocketOptions {
  /** Checked on the upgrade request, like an HTTP route's security. Default `false`: public. */
  security?: Security;
  /** Koa middleware run on the upgrade request before security (sessions, correlation ids…). */
  middleware?: Middleware[];
  /**
   * Origins other than the gateway's own that may open a socket, e.g. `['https://app.example.com']`
   * (scheme, host and port). A browser upgrade from any other site is refused with 403 (cross-site
   * WebSocket hijacking); the gateway's own origin is always accepted. Default: own origin only.
   * `'*'` accepts every origin: only for gateways that trust no cookie (public data, or a token
   * checked by `security`).
   */
  origins?: string[] | '*';
  /**
   * Largest message accepted, in bytes (all its fragments, and with compression its inflated size);
   * a larger one closes the socket with 1009. Default 1 MiB.
   */
  maxPayload?: number;
  /**
   * Most fragments (frames) one message may arrive in; more closes the socket with 1008. Each
   * fragment is a buffer the server holds until the message is whole, so this bounds the objects a
   * client can make the server keep below `maxPayload`. Default 16 384 (ws's), a whole number ≥ 1.
   */
  maxFragments?: number;
  /**
   * permessage-deflate. Default false. `true` compresses messages of 1 KiB or more, each on its own
   * (no context takeover), at zlib's defaults; an object changes those (see CompressionOptions).
   * Cost: a socket that has compressed or inflated a message keeps ~240 KiB of zlib state until it
   * closes, and every frame (each broadcast too) is compressed per socket.
   */
  compression?: boolean | CompressionOptions;
  /** Ping interval in ms; a peer that misses a pong by the next ping is dropped. Default 30 000; 0 turns it off. */
  heartbeat?: number;
  /**
   * Close a connection that sent nothing for this many ms. Default 0: never. A `vela/client`
   * heartbeat frame (`vela:ping`) counts, so behind that client it closes pages that are gone,
   * not pages left idle; protocol pongs do not count.
   */
  idleTimeout?: number;
  /**
   * Slow consumers. A socket's unsent data may pass `maxBufferedBytes` (default 1 MiB) in a burst,
   * but must fall back under it within `drainTimeout` ms (default 10 000), and may never pass
   * `bufferedBytesCap` (default 16 × maxBufferedBytes: 16 MiB, room for a 200 × 64 KiB burst); a
   * socket that does either is closed with 1008 `slow consumer`.
   */
  maxBufferedBytes?: number;
  drainTimeout?: number;
  bufferedBytesCap?: number;
  /**
   * Most messages a client may send: bursts of up to `messages`, refilled at `messages` per `per`
   * ms. A socket over it is closed with 1008 `rate limit exceeded`. Every message counts (text,
   * binary, `vela:ping`) and so does every protocol ping; pongs do not. Default: none.
   */
  rateLimit?: RateLimit;
  /**
   * What the gateway pushes to its clients, by event name, for the AsyncAPI document:
   * `{ new_comment: Comment }` (the `data` of `json({ event: 'new_comment', data })`).
   */
  pushes?: Readonly<Record<string, Schema>>;
}

/** Options of `@OnMessage('event', options)`. */
export interface EventOptions {
  /**
   * Any Standard Schema for the event's `data`. Validated before the handler runs; the handler
   * gets the output. Invalid data: the handler is not called, the socket stays open, and the
   * client gets the issues, tied to its frame: a request is answered
   * `{ ref, error: { code: 'invalid', message, issues } }`, a plain event gets one
   * `{ event: 'vela:error', data: { event, code: 'invalid', message, issues } }` (vela/client's
   * `'error'` event). Issues are `{ path, message }`.
   */
  data?: Schema;
  /** The schema of the answer when the event is sent as a request (`ack(value)`), for AsyncAPI. */
  reply?: Schema;
  /** A one-line summary for the AsyncAPI document. */
  summary?: string;
}

/** Checks at compile time that an event handler accepts what its `data` schema produces. */
export type EventDecorator<O extends EventOptions> = <H extends (data: O['data'] extends Schema ? Infer<O['data']> : any, conn: Connection) => unknown>(
  target: object,
  property: string | symbol,
  descriptor: TypedPropertyDescriptor<H>,
) => void;

/** `{ messages: 100, per: 1_000 }`: a hundred messages a second, in bursts of at most a hundred. */
export interface RateLimit {
  messages: number;
  per: number;
}

/**
 * A WebSocket gateway: one instance per connection, built by dependency injection.
 *
 * @example
 * @WebSocket('/ws')
 * class EchoGateway {
 *   @OnMessage()
 *   echo(text: string) { return reply(`Echo: ${text}`); }
 * }
 */
export function WebSocket(path: string, options: WebSocketOptions = {}): ClassDecorator {
  return (target) => metadata.setGateway(target as unknown as Class, { path, options });
}

/**
 * Handles frames from the client: `@OnMessage()` text frames (a string), `@OnMessage({ binary: true })`
 * binary frames (a Buffer), `@OnMessage('event')` JSON text frames `{ "event": "event", "data": … }`
 * (the data). The handler receives the payload and the Connection.
 */
export function OnMessage(options?: { binary?: boolean }): MethodDecorator;
export function OnMessage<const O extends EventOptions = {}>(event: string, options?: O): EventDecorator<O>;
export function OnMessage(eventOrOptions?: string | { binary?: boolean }, options: EventOptions = {}) {
  return (target: object, property: string | symbol) => {
    const handlerName = String(property);
    const record =
      typeof eventOrOptions === 'string'
        ? {
            handlerName,
            kind: 'event' as const,
            event: eventOrOptions,
            ...(options.data !== undefined ? { data: options.data } : {}),
            ...(options.reply !== undefined ? { reply: options.reply } : {}),
            ...(options.summary !== undefined ? { summary: options.summary } : {}),
          }
        : {
            handlerName,
            kind: eventOrOptions?.binary ? ('binary' as const) : ('text' as const),
            // Recorded only for bootstrap to refuse it (from JavaScript): text and binary frames have no data schema.
            ...((eventOrOptions as EventOptions | undefined)?.data !== undefined ? { data: (eventOrOptions as EventOptions).data } : {}),
          };
    metadata.addMessageHandler(target.constructor as Class, record);
  };
}

/**
 * Handles messages posted to the connection from the rest of the system (`conn.info(msg)`, pub/sub,
 * Comms). With a filter, only messages whose fields equal the filter's: `@OnInfo({ topic: 'new_comment' })`.
 */
export function OnInfo(filter?: Readonly<Record<string, unknown>>): MethodDecorator {
  return (target, property) => metadata.addInfoHandler(target.constructor as Class, { handlerName: String(property), filter });
}
