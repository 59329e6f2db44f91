// An @OnInfo that waits behind a busy connection runs, when its turn comes, in the context it was
// posted in (the deliver span of the broadcast that brought it), not in the context of whatever
// freed the connection's mailbox: the spans it makes belong to the broadcast's trace.
import { trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { Controller, Module, OnInfo, OnMessage, PubSub, Route, WebSocket, json, reply, type Context, type PubSubMessage } from 'vela';
import { startTestApp } from 'vela/testing';
import { deferred } from '../support/deferred.js';
import { parentOf, traceparent, useTracing } from './support.js';

const tracing = useTracing();
const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const PARENT_ID = 'b7ad6b7169203331';

/** The busy handler's progress, which the test drives. */
const held = { started: deferred(), release: deferred() };

@Controller({ prefix: '/api' })
class NewsController {
  constructor(private readonly pubsub: PubSub) {}

  @Route('/news', { methods: ['post'] })
  async post(ctx: Context) {
    await this.pubsub.broadcast('news', 'story', ctx.request.body);
    return json({ sent: true });
  }
}

@WebSocket('/news')
class NewsGateway {
  constructor(private readonly pubsub: PubSub) {}

  init() {
    void this.pubsub.join('news');
  }

  /** Keeps the connection's mailbox busy until the test releases it. */
  @OnMessage('hold')
  async hold() {
    held.started.resolve();
    await held.release.promise;
    return reply('released');
  }

  @OnInfo()
  story(message: PubSubMessage) {
    const span = trace.getTracer('app').startSpan('read story');
    span.end();
    return reply(json({ story: message.payload }));
  }
}

@Module({ controllers: [NewsController], gateways: [NewsGateway] })
class NewsModule {}

describe('@OnInfo behind a busy connection', () => {
  it('runs in the deliver span of its broadcast, not in the context of the job that freed the mailbox', async () => {
    const app = await startTestApp(NewsModule);
    try {
      const socket = await app.ws('/news');
      socket.sendJson({ event: 'hold', data: null });
      await held.started.promise;

      // The broadcast's info waits behind `hold`.
      const res = await app.http.post('/api/news', { title: 'hi' }, { headers: { traceparent: traceparent(TRACE_ID, PARENT_ID) } });
      expect(res.status).toBe(201);
      const deliver = await tracing.span('deliver news');
      held.release.resolve();
      expect(await socket.recv()).toBe('released');
      expect(await socket.recvJson()).toEqual({ story: { title: 'hi' } });

      const read = await tracing.span('read story');
      expect(read.spanContext().traceId).toBe(TRACE_ID);
      expect(parentOf(read)).toBe(deliver.spanContext().spanId);
    } finally {
      held.release.resolve(); // app.close() waits for the running handler
      await app.close();
    }
  });
});
