// bench/soak/churn.mjs's app: sockets that join a shared topic and one of their own, then leave with
// a close frame the server sends. The counts let the bench wait until every closed socket's
// terminate has run before it weighs the heap.
import { Module, OnMessage, PubSub, WebSocket, stop, type Connection } from 'vela';

/** Gateway callbacks run so far: every socket the driver opened runs init once and terminate once. */
export const counts = { inits: 0, terminated: 0 };

@WebSocket('/churn', { idleTimeout: 60_000 })
export class ChurnGateway {
  constructor(private readonly pubsub: PubSub) {}

  init(conn: Connection) {
    counts.inits += 1;
    this.pubsub.join('room');
    this.pubsub.join(`own-${conn.id}`);
  }

  @OnMessage()
  bye() {
    return stop(4000, 'bye');
  }

  terminate() {
    counts.terminated += 1;
  }
}

@Module({ gateways: [ChurnGateway] })
export class AppModule {}
