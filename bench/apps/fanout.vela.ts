// bench/workers-sockets.mjs's app: every socket on /live joins the channel `all` (topic.vela.ts's
// gateway, Vela's default gateway options), and POST /broadcast { text } broadcasts the text to it,
// from whichever worker takes the request.
import { Controller, Module, PubSub, Route, json, type Context } from 'vela';
import { topicModule } from './topic.vela.js';

@Controller()
export class FanoutController {
  constructor(private readonly pubsub: PubSub) {}

  @Route('/broadcast', { methods: ['post'] })
  async broadcast(ctx: Context) {
    await this.pubsub.broadcast('all', 'tick', String((ctx.request.body as { text: unknown }).text));
    return json({ pid: process.pid });
  }
}

@Module({ imports: [topicModule({ path: '/live', topic: 'all' })], controllers: [FanoutController] })
export class FanoutModule {}
