// The app the metrics tests drive: a route that broadcasts on the channel it names, a gateway per
// room that joins `room:<room>`, tracks its `?name=` there, echoes text and relays broadcasts, and
// channel keys for the patterns ('room:*', and 'news' with a history of 2).
import {
  Controller,
  Module,
  OnInfo,
  OnMessage,
  Presence,
  PubSub,
  Route,
  WebSocket,
  json,
  reply,
  status,
  type Connection,
  type Context,
  type PubSubMessage,
} from 'vela';
import { Tracker } from '../pubsub/support.js';

@Controller({ prefix: '/api' })
class ApiController {
  constructor(private readonly pubsub: PubSub) {}

  @Route('/users/:id')
  show(ctx: Context) {
    return json({ id: ctx.params.id });
  }

  @Route('/fail')
  fail() {
    throw new Error('boom');
  }

  @Route('/say/:channel', { methods: ['post'] })
  async say(ctx: Context) {
    await this.pubsub.broadcast(ctx.params.channel!, 'say', ctx.request.body);
    return status(204);
  }
}

/** `/rooms/:room?name=…`: joins `room:<room>`, tracks `name` there, echoes text, relays broadcasts. */
@WebSocket('/rooms/:room')
class RoomGateway {
  #id = '';

  constructor(
    private readonly pubsub: PubSub,
    private readonly presence: Presence,
    private readonly tracker: Tracker,
  ) {}

  async init(conn: Connection) {
    this.#id = conn.id;
    const channel = `room:${conn.request.params.room as string}`;
    this.pubsub.join(channel);
    const name = conn.request.query.name;
    if (typeof name === 'string') await this.presence.track(channel, name, {});
    return reply('joined');
  }

  @OnMessage()
  echo(text: string) {
    return reply(text);
  }

  @OnInfo()
  relay(message: PubSubMessage) {
    return reply(json(message.payload));
  }

  terminate() {
    this.tracker.terminated(this.#id);
  }
}

@Module({
  controllers: [ApiController],
  gateways: [RoomGateway],
  providers: [Tracker],
  channels: { 'room:*': {}, news: { history: { size: 2, ttl: 60_000 } } },
})
export class AppModule {}
