// Rwf's Comms: reach a client by its session id from anywhere — a controller, a job — on whichever
// node its sockets are. Local sockets are reached at once; the adapter carries the rest.
import type { Hub } from './pubsub/hub.js';
import { encodeFrame, type Frame } from './ws/frames.js';

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
    const reached = this.#hub.sendToSession(sessionId, frame);
    void this.#hub.forward({ type: 'session-send', sessionId, frame });
    return reached;
  }

  /** Posts `message` to the @OnInfo of every open socket of the session, as `conn.info` does. */
  info(sessionId: string, message: unknown): number {
    requireSession(sessionId, 'info');
    const reached = this.#hub.infoToSession(sessionId, message);
    void this.#hub.forward({ type: 'session-info', sessionId, message });
    return reached;
  }

  /** Sends `frame` to every open socket of every gateway, except those of the `except` session. */
  broadcast(frame: Frame, options: { except?: string } = {}): number {
    encodeFrame(frame);
    const reached = this.#hub.sendToAll(frame, options.except);
    void this.#hub.forward({ type: 'send-all', frame, exceptSession: options.except });
    return reached;
  }
}

function requireSession(sessionId: string, method: string): void {
  if (typeof sessionId !== 'string' || sessionId === '') {
    throw new TypeError(`comms.${method}(sessionId, …) needs a session id (ctx.state.session.id or conn.sessionId), got ${String(sessionId)}.`);
  }
}
