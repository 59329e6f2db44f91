// A WebSocket gateway: one instance per connection; each text frame comes back prefixed.
import { OnMessage, WebSocket, reply } from 'vela';

@WebSocket('/echo')
export class EchoGateway {
  @OnMessage()
  echo(text: string) {
    return reply(`Echo: ${text}`);
  }
}
