// bench/ws-server.mjs's Vela servers: one gateway on /ws with Vela's default options (heartbeat
// 30 s, maxPayload 1 MiB, no idle timeout, public), echoing either raw text frames or
// {"event","data"} JSON frames dispatched on the event name.
import { Module, OnMessage, WebSocket, json, reply } from 'vela';

@WebSocket('/ws')
export class EchoGateway {
  @OnMessage()
  echo(text: string) {
    return reply(text);
  }
}

@WebSocket('/ws')
export class EventGateway {
  @OnMessage('echo')
  echo(data: unknown) {
    return reply(json({ event: 'echo', data }));
  }
}

@WebSocket('/ws', { compression: true })
export class DeflateGateway {
  @OnMessage()
  echo(text: string) {
    return reply(text);
  }
}

/** `vela`: text frames echoed as they came. */
@Module({ gateways: [EchoGateway] })
export class EchoModule {}

/** `vela-event`: JSON event frames, parsed and dispatched by Vela. */
@Module({ gateways: [EventGateway] })
export class EventModule {}

/** `vela-deflate`: the echo with permessage-deflate at Vela's defaults (bench/compression.mjs). */
@Module({ gateways: [DeflateGateway] })
export class DeflateModule {}
