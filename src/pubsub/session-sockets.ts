// The sockets of each session on this node, for Comms (send to a session, wherever its tabs are).
// Most sessions have one socket: it is kept as is, and a Set (≈ 120 B) made only for a second one.

/** What a session's socket needs to be: anything with the session it belongs to. */
interface SessionSocket {
  readonly sessionId: string | undefined;
}

export class SessionSockets<S extends SessionSocket> {
  readonly #sessions = new Map<string, S | Set<S>>();

  get size(): number {
    return this.#sessions.size;
  }

  add(socket: S): void {
    const { sessionId } = socket;
    if (sessionId === undefined) return;
    const sockets = this.#sessions.get(sessionId);
    if (sockets === undefined) this.#sessions.set(sessionId, socket);
    else if (sockets instanceof Set) sockets.add(socket);
    else if (sockets !== socket) this.#sessions.set(sessionId, new Set([sockets, socket]));
  }

  delete(socket: S): void {
    const { sessionId } = socket;
    if (sessionId === undefined) return;
    const sockets = this.#sessions.get(sessionId);
    if (sockets === socket || (sockets instanceof Set && sockets.delete(socket) && sockets.size === 0)) {
      this.#sessions.delete(sessionId);
    }
  }

  /** The session's sockets on this node, as an array (a copy of its Set when it has several). */
  of(sessionId: string): readonly S[] {
    const sockets = this.#sessions.get(sessionId);
    if (sockets === undefined) return [];
    return sockets instanceof Set ? [...sockets] : [sockets];
  }
}
