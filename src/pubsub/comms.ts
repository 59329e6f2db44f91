// Rwf's Comms: reach a client by its session id from anywhere — a controller, a job — on whichever
// node its sockets are. Local sockets are reached at once; the adapter carries the rest. What the
// adapter cannot encode for other nodes (PubSubEncodingError) is thrown before any socket gets it.
// Traced as a broadcast is (telemetry/comms-spans.ts) when an SDK is registered.
import type { Span } from '@opentelemetry/api';
import type { Hub } from './hub.js';
import { encodeFrame, type Frame } from '../ws/frames.js';
import { endPublish } from '../telemetry/bus-spans.js';
import { startCommsSend, type CommsEnvelope } from '../telemetry/comms-spans.js';
import { recordFailure, runIn, tracingOn } from '../telemetry/tracer.js';

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
    return this.#send({ type: 'session-send', sessionId, frame });
  }

  /** Posts `message` to the @OnInfo of every open socket of the session, as `conn.info` does. */
  info(sessionId: string, message: unknown): number {
    requireSession(sessionId, 'info');
    return this.#send({ type: 'session-info', sessionId, message });
  }

  /** Sends `frame` to every open socket of every gateway, except those of the `except` session. */
  broadcast(frame: Frame, options: { except?: string } = {}): number {
    encodeFrame(frame);
    return this.#send({ type: 'send-all', frame, exceptSession: options.except });
  }

  #send(envelope: CommsEnvelope): number {
    if (!tracingOn()) {
      void this.#hub.forward(envelope); // throws first for a message other nodes cannot get
      return this.#hub.comms.deliver(envelope, undefined);
    }
    const { span, context, carrier } = startCommsSend(envelope, this.#hub.id);
    return runIn(context, this.#sendTraced, this, carrier ? { ...envelope, tc: carrier } : envelope, span);
  }

  /** Inside the send span, which ends once the adapter has carried the envelope (or refused it). */
  #sendTraced(envelope: CommsEnvelope, span: Span): number {
    let carried: Promise<void>;
    try {
      carried = this.#hub.forward(envelope);
    } catch (error) {
      // A message the other nodes cannot get: the caller's error, thrown before any socket had it.
      recordFailure(span, error);
      span.end();
      throw error;
    }
    endPublish(span, carried);
    return this.#hub.comms.deliver(envelope, undefined);
  }
}

function requireSession(sessionId: string, method: string): void {
  if (typeof sessionId !== 'string' || sessionId === '') {
    throw new TypeError(`comms.${method}(sessionId, …) needs a session id (ctx.state.session.id or conn.sessionId), got ${String(sessionId)}.`);
  }
}
