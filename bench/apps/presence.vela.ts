// bench/presence.mjs's app, the same on every node: one presence channel, watched by many sockets,
// tracked by short-lived ones.
//   /watch  joins the channel and gets `presence_state`, then every `presence_diff`, as docs/presence.md
//           writes it (reply(json({ event, data }))); it tracks nothing. It relays a plain
//           broadcast with topic 'probe' the same way: the fan-out floor, the same path without presence
//   /churn  tracks itself under ?key= with a small meta (timed around the call: `timings`), then
//           says 'tracked'; it leaves when its socket closes. It does not join the channel, so the
//           churn does not list the channel 2,000 times a second: only the watchers get diffs.
// Heartbeat 0: a ping sweep over 10,000 sockets landing in a measurement would be charged to it.
import { performance } from 'node:perf_hooks';
import { Module, OnInfo, OnMessage, Presence, PubSub, WebSocket, json, reply, type Connection, type PresenceDiff, type PubSubMessage } from 'vela';

export const CHANNEL = 'room:bench';

/** What the driver reads over IPC: each track() call's duration in ms, as it returns. */
export const timings = { onTrack: (_ms: number): void => {} };

@WebSocket('/watch', { heartbeat: 0 })
export class WatchGateway {
  constructor(
    private readonly pubsub: PubSub,
    private readonly presence: Presence,
  ) {}

  async init() {
    await this.pubsub.join(CHANNEL);
    return reply(json({ event: 'presence_state', data: await this.presence.list(CHANNEL) }));
  }

  @OnMessage()
  ignore() {}

  @OnInfo({ topic: 'presence_diff' })
  diff(msg: PubSubMessage<PresenceDiff>) {
    return reply(json({ event: 'presence_diff', data: msg.payload }));
  }

  @OnInfo({ topic: 'probe' })
  probe(msg: PubSubMessage) {
    return reply(json({ event: 'probe', data: msg.payload }));
  }
}

@WebSocket('/churn', { heartbeat: 0 })
export class ChurnGateway {
  constructor(private readonly presence: Presence) {}

  async init(conn: Connection) {
    const key = String(conn.request.query.key);
    const t0 = performance.now();
    await this.presence.track(CHANNEL, key, { name: `user ${key}`, device: 'web' });
    timings.onTrack(performance.now() - t0);
    return reply('tracked');
  }

  @OnMessage()
  ignore() {}
}

@Module({ gateways: [WatchGateway, ChurnGateway] })
export class PresenceModule {}
