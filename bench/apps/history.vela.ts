// bench/history.mjs's app, the same on every node: two channels alike but for history, and a
// third kept for replays.
//   /live  every socket joins 'plain' (no history) and 'hist' (history), so one broadcast on each
//          reaches the very same sockets through the same @OnInfo, and only history differs
//   /feed  joins 'feed' (history): the sockets a reconnecting client's replay is measured on
// Heartbeat 0: a ping sweep over 10,000 sockets landing in a measurement would be charged to it.
import { Module, OnInfo, OnMessage, PubSub, WebSocket, reply, type HistoryOptions, type PubSubMessage } from 'vela';

export const PLAIN = 'plain';
export const HISTORY = 'hist';
export const FEED = 'feed';

/** A gateway on `path` whose sockets join `channels` in init and get each message as its payload. */
function channelGateway(path: string, channels: readonly string[]) {
  @WebSocket(path, { heartbeat: 0 })
  class ChannelGateway {
    constructor(private readonly pubsub: PubSub) {}

    init() {
      for (const channel of channels) void this.pubsub.join(channel);
    }

    @OnMessage()
    ignore() {}

    @OnInfo()
    push(msg: PubSubMessage<string>) {
      return reply(msg.payload);
    }
  }
  return ChannelGateway;
}

/** A module whose 'hist' and 'feed' channels keep `history`. */
export function historyModule(history: HistoryOptions) {
  @Module({ gateways: [channelGateway('/live', [PLAIN, HISTORY]), channelGateway('/feed', [FEED])], channels: { [HISTORY]: { history }, [FEED]: { history } } })
  class HistoryModule {}
  return HistoryModule;
}
