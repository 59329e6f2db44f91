// The one adapter failure the caller hears about: its own payload cannot travel to the other nodes.
// A lost connection is the cluster's problem (logged, counted); this is the caller's, and says what to fix.
import type { Envelope } from './message.js';

/**
 * Thrown by `pubsub.broadcast()` / `broadcastFrom()` (a rejected promise) and by `comms.send()`,
 * `comms.info()` and `comms.broadcast()` when what they carry cannot be encoded as JSON for the other
 * nodes: a BigInt, a cycle, or nesting deeper than the wire allows. Nothing was delivered, on any node.
 *
 * @example
 * try { await pubsub.broadcast('room', 'said', payload); }
 * catch (error) { if (error instanceof PubSubEncodingError) return reply(json({ error: error.message })); throw error; }
 */
export class PubSubEncodingError extends TypeError {
  override readonly name = 'PubSubEncodingError';
  /** Where in the envelope the problem is, e.g. `payload.items[3]`. */
  readonly path: string;
  /** What is wrong there, e.g. `is a BigInt`. */
  readonly problem: string;

  constructor(envelope: Envelope, path: string, problem: string, fix: string) {
    super(`${describeCall(envelope)}: the ${path.split(/[.[]/)[0]} cannot be encoded as JSON for other nodes: ${path} ${problem}. ${fix}. Nothing was delivered.`);
    this.path = path;
    this.problem = problem;
  }
}

/** The call that made the envelope, as the caller wrote it, so the message points at their code. */
function describeCall(envelope: Envelope): string {
  switch (envelope.type) {
    case 'message':
      return `pubsub.broadcast('${envelope.message.channel}', '${envelope.message.topic}', payload)`;
    case 'session-send':
      return 'comms.send(sessionId, frame)';
    case 'session-info':
      return 'comms.info(sessionId, message)';
    case 'send-all':
      return 'comms.broadcast(frame)';
    default:
      return `a pub/sub envelope of type ${String((envelope as { type: unknown }).type)}`;
  }
}
