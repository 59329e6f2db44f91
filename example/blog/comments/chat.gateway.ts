// A chat room: what one member says goes to every other member (broadcastFrom); the sender's own
// page shows its line without a round trip. `/chat?name=Ada` names the member.
import { OnInfo, OnMessage, PubSub, WebSocket, json, reply, type Connection, type PubSubMessage } from 'vela';
import { MAX_COMMENT_LENGTH } from './comment-store.js';
import { visitorName } from './visitor-name.js';

interface ChatLine {
  from: string;
  text: string;
}

@WebSocket('/chat', { maxPayload: 4 * 1024 })
export class ChatGateway {
  #name = 'anonymous';

  constructor(private readonly pubsub: PubSub) {}

  init(conn: Connection) {
    this.#name = visitorName(conn, this.#name);
    this.pubsub.join('chat');
  }

  @OnMessage()
  say(text: string) {
    const line: ChatLine = { from: this.#name, text: text.slice(0, MAX_COMMENT_LENGTH) };
    return this.pubsub.broadcastFrom('chat', 'line', line);
  }

  @OnInfo({ channel: 'chat', topic: 'line' })
  hear(msg: PubSubMessage<ChatLine>) {
    return reply(json(msg.payload));
  }
}
