// The seeds' echo socket: every text frame comes back prefixed, as in Nova's websocket tutorial.
// Try it with `npx wscat -c ws://localhost:8080/ws`, then type `Hello Nova!`.
import { OnMessage, WebSocket, reply } from 'vela';

@WebSocket('/ws')
export class EchoGateway {
  @OnMessage()
  echo(text: string) {
    return reply(`Echo: ${text}`);
  }
}
