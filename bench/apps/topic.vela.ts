// The fan-out app of bench/broadcast.mjs, bench/cross-node.mjs and bench/soak/soak.mjs: every socket
// of one gateway joins one topic in init, and each pub/sub message on it comes back to the socket
// as its payload. The benches differ only in path, topic and heartbeat, so the module is made per
// bench by topicModule().
import { Module, OnInfo, OnMessage, PubSub, WebSocket, reply, type WebSocketOptions, type PubSubMessage } from 'vela';

export interface TopicApp {
  /** Where the gateway listens, e.g. '/live'. */
  path: string;
  /** The topic every socket joins. */
  topic: string;
  /** @WebSocket options; `{ heartbeat: 0 }` where a ping sweep over 10 000 sockets would land in a measurement. */
  options?: WebSocketOptions;
}

/** A module with one gateway whose sockets join `topic` and get every message on it. */
export function topicModule({ path, topic, options }: TopicApp) {
  @WebSocket(path, options)
  class TopicGateway {
    constructor(private readonly pubsub: PubSub) {}

    init() {
      this.pubsub.join(topic);
    }

    @OnMessage()
    ignore() {}

    @OnInfo()
    push(msg: PubSubMessage<string>) {
      return reply(msg.payload);
    }
  }

  @Module({ gateways: [TopicGateway] })
  class TopicModule {}
  return TopicModule;
}
