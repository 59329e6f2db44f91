// The app the tracing tests drive: routes that answer, broadcast, throw and refuse; a gateway whose
// handlers reply, fail, answer requests and make spans of their own; a gateway that refuses upgrades.
import { trace } from '@opentelemetry/api';
import {
  Controller,
  HttpError,
  Module,
  OnInfo,
  OnMessage,
  PubSub,
  Route,
  WebSocket,
  WsError,
  ack,
  json,
  reply,
  status,
  type Connection,
  type Context,
  type PubSubMessage,
} from 'vela';

/** A span the app makes itself, to show whose child it becomes. */
function appSpan(name: string): string {
  const span = trace.getTracer('app').startSpan(name);
  span.end();
  return span.spanContext().spanId;
}

@Controller({ prefix: '/api' })
export class NotesController {
  constructor(private readonly pubsub: PubSub) {}

  @Route('/notes/:id')
  show(ctx: Context) {
    return json({ id: ctx.params.id, active: trace.getActiveSpan() !== undefined, child: appSpan('load note') });
  }

  @Route('/rooms/:room/notes', { methods: ['post'] })
  async post(ctx: Context) {
    await this.pubsub.broadcast(`room:${ctx.params.room}`, 'note', ctx.request.body);
    return json({ sent: true });
  }

  @Route('/boom')
  boom() {
    throw new TypeError('the note store is gone');
  }

  @Route('/forbidden')
  forbidden() {
    throw new HttpError(403, 'not yours');
  }

  @Route('/unavailable')
  unavailable() {
    return status(503);
  }
}

@WebSocket('/rooms/:room')
export class RoomGateway {
  constructor(private readonly pubsub: PubSub) {}

  init(conn: Connection) {
    void this.pubsub.join(`room:${String(conn.request.params.room)}`);
  }

  @OnMessage('say')
  say(data: unknown) {
    return reply(json({ said: data, active: trace.getActiveSpan() !== undefined, child: appSpan('store message') }));
  }

  @OnMessage('fail')
  fail() {
    throw new RangeError('the handler broke');
  }

  @OnMessage('ask')
  async ask(data: unknown) {
    await Promise.resolve();
    if (data === null) throw new WsError('invalid', 'data is required');
    return ack({ echoed: data, child: appSpan('answer') });
  }

  @OnInfo()
  push(msg: PubSubMessage) {
    return reply(json({ event: msg.topic, data: msg.payload, channel: msg.channel }));
  }
}

@WebSocket('/private', { security: () => false })
export class PrivateGateway {}

@Module({ controllers: [NotesController], gateways: [RoomGateway, PrivateGateway] })
export class TracedModule {}
