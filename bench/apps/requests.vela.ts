// bench/requests.mjs's server: one process, two gateways answering the same @OnMessage('echo')
// the two ways a client can wait for an answer, with Vela's default gateway and requests options.
//   /echo     a plain event echo: the client waits for the {"event":"echo","data"} frame
//   /request  a request: the client sends {"event","data","ref"} and waits for {"ref","ok": data};
//             with `vela_client` in the URL the answer is also remembered for repeats (the default
//             cost of vela/client's requests), without it only answered
import { Module, OnMessage, WebSocket, ack, json, reply } from 'vela';

@WebSocket('/echo')
export class PlainEchoGateway {
  @OnMessage('echo')
  echo(data: unknown) {
    return reply(json({ event: 'echo', data }));
  }
}

@WebSocket('/request')
export class RequestEchoGateway {
  @OnMessage('echo')
  echo(data: unknown) {
    return ack(data);
  }
}

@Module({ gateways: [PlainEchoGateway, RequestEchoGateway] })
export class RequestsModule {}
