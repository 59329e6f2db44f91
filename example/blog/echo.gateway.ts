// The seeds' echo socket: every text frame comes back prefixed, as in Nova's websocket tutorial.
// Try it with `npx wscat -c ws://localhost:8080/ws`, then type `Hello Nova!`.
import { Inject, LOGGER, OnMessage, WebSocket, reply, type CloseReason, type Logger } from 'vela';

@WebSocket('/ws')
export class EchoGateway {
  constructor(@Inject(LOGGER) private readonly logger: Logger) {}

  @OnMessage()
  echo(text: string) {
    return reply(`Echo: ${text}`);
  }

  /** On shutdown too: every socket's terminate runs before the providers' onClose (the database's). */
  terminate({ code }: CloseReason) {
    this.logger.info('echo socket closed', { code });
  }
}
