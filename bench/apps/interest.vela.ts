// The app of bench/interest.mjs: one node of a chat cluster on Redis. Its members are pubsub
// subscribe() listeners the bench adds per room (to Redis and its routing, a listener is a member
// like a socket, and 6,000 sockets would only add client processes to a 2-core machine); its
// messages are broadcast from a service, as a chat's HTTP or socket handler would.
import { Injectable, Module, PubSub } from 'vela';

/** A room's chat, as the app's own code sends and hears it. */
@Injectable()
export class Chat {
  constructor(private readonly pubsub: PubSub) {}

  say(room: string, from: number, text: string): Promise<void> {
    return this.pubsub.broadcast(room, 'said', { from, text });
  }

  /** One member of `room` on this node; resolves once the node hears the room from the others. */
  listen(room: string, heard: (from: number) => void): Promise<void> {
    return this.pubsub.subscribe<{ from: number }>(room, (message) => heard(message.payload.from)).ready;
  }
}

@Module({ providers: [Chat] })
export class InterestModule {}
