// Rwf's Comms: reach a client by its session id from anywhere — a controller, a job — on whichever
// node its sockets are. Local sockets are reached at once; the adapter carries the rest. What the
// adapter cannot encode for other nodes (PubSubEncodingError) is thrown before any socket gets it.
import type { Hub } from './hub.js';
import { encodeFrame, type Frame } from '../ws/frames.js';

export class Comms {
  readonly #hub: Hub;

  /** Built by Vela; inject it. */
  constructor(hub: Hub) {
    this.#hub = hub;
  }

  /** Sends `frame` to every open socket of the session. Returns how many sockets on this node it reached. */
  send(sessionId: string, frame: Frame): number {
    requireSession(sessionId, 'send');
    encodeFrame(frame); // a bad frame fails here, in the caller, not on every node
    void this.#hub.forward({ type: 'session-send', sessionId, frame }); // throws first for a frame other nodes cannot get
    return this.#hub.sendToSession(sessionId, frame);
  }

  /** Posts `message` to the @OnInfo of every open socket of the session, as `conn.info` does. */
  info(sessionId: string, message: unknown): number {
    requireSession(sessionId, 'info');
    void this.#hub.forward({ type: 'session-info', sessionId, message }); // throws first for a message other nodes cannot get
    return this.#hub.infoToSession(sessionId, message);
  }

  /** Sends `frame` to every open socket of every gateway, except those of the `except` session. */
  broadcast(frame: Frame, options: { except?: string } = {}): number {
    encodeFrame(frame);
    void this.#hub.forward({ type: 'send-all', frame, exceptSession: options.except }); // throws first, as in send
    return this.#hub.sendToAll(frame, options.except);
  }
}

function requireSession(sessionId: string, method: string): void {
  if (typeof sessionId !== 'string' || sessionId === '') {
    throw new TypeError(`comms.${method}(sessionId, …) needs a session id (ctx.state.session.id or conn.sessionId), got ${String(sessionId)}.`);
  }
}
