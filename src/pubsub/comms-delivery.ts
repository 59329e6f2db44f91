// Comms' delivery on this node (the Hub's part of it): a frame or an info to a session's sockets, or
// a frame to every socket, each encoded once for all the sockets it reaches. Traced when an SDK is
// registered (telemetry/comms-spans.ts): the sockets are reached inside a `deliver` span, so the
// @OnInfo of a socket whose mailbox is free runs as its child.
import type { Frame, FrameEncoder } from '../ws/frames.js';
import type { TraceCarrier } from './message.js';
import type { SessionSockets } from './session-sockets.js';
import { startCommsDeliver, type CommsEnvelope } from '../telemetry/comms-spans.js';
import { runIn, tracingOn } from '../telemetry/tracer.js';

/** A socket as Comms reaches it (the Hub's LocalConnection). */
interface CommsSocket {
  readonly sessionId: string | undefined;
  send(frame: Frame): boolean;
  info(message: unknown): void;
}

export class CommsDelivery<S extends CommsSocket> {
  readonly #node: string;
  readonly #sessions: SessionSockets<S>;
  readonly #sockets: ReadonlySet<S>;
  readonly #encoder: FrameEncoder;

  /** `sessions` and `sockets`: the Hub's own, read as they change. */
  constructor(node: string, sessions: SessionSockets<S>, sockets: ReadonlySet<S>, encoder: FrameEncoder) {
    this.#node = node;
    this.#sessions = sessions;
    this.#sockets = sockets;
    this.#encoder = encoder;
  }

  /**
   * Delivers `envelope` to this node's sockets; returns how many it reached. `from`: undefined when
   * sent on this node (under its send span), else the trace context its envelope came with (null: none).
   */
  deliver(envelope: CommsEnvelope, from: TraceCarrier | null | undefined): number {
    if (!tracingOn()) return this.#deliverNow(envelope);
    // Every node hears every Comms message: one with no socket to reach has nothing to show.
    const none = envelope.type === 'send-all' ? this.#sockets.size === 0 : this.#sessions.of(envelope.sessionId).length === 0;
    if (none) return 0;
    const { span, context } = startCommsDeliver(envelope, this.#node, from);
    try {
      const reached = runIn(context, this.#deliverNow, this, envelope);
      span.setAttribute('vela.sockets', reached);
      return reached;
    } finally {
      span.end();
    }
  }

  #deliverNow(envelope: CommsEnvelope): number {
    switch (envelope.type) {
      case 'session-send':
        return this.#toSession(envelope.sessionId, envelope.frame);
      case 'session-info':
        return this.#infoToSession(envelope.sessionId, envelope.message);
      case 'send-all':
        return this.#toAll(envelope.frame, envelope.exceptSession);
    }
  }

  #toSession(sessionId: string, frame: Frame): number {
    const sockets = this.#sessions.of(sessionId);
    if (sockets.length === 0) return 0;
    return this.#encoder.encodingOnce(() => countTrue(sockets, (socket) => socket.send(frame)));
  }

  #infoToSession(sessionId: string, message: unknown): number {
    const sockets = this.#sessions.of(sessionId);
    for (const socket of sockets) socket.info(message);
    return sockets.length;
  }

  #toAll(frame: Frame, exceptSession: string | undefined): number {
    return this.#encoder.encodingOnce(() =>
      countTrue(this.#sockets, (socket) => (socket.sessionId !== undefined && socket.sessionId === exceptSession ? false : socket.send(frame))),
    );
  }
}

function countTrue<T>(items: Iterable<T>, act: (item: T) => boolean): number {
  let count = 0;
  for (const item of items) if (act(item)) count += 1;
  return count;
}
