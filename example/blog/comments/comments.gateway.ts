// The seeds' live comments (Nova's blog_comments_ws_handler): every socket joins `comments`, a
// comment sent by one is broadcast to all — the sender included — and each pushes it to its client.
import { OnInfo, OnMessage, PubSub, WebSocket, reply, type PubSubMessage } from 'vela';
import { CommentStore } from './comment-store.js';

@WebSocket('/comments', { maxPayload: 4 * 1024 })
export class CommentsGateway {
  constructor(
    private readonly pubsub: PubSub,
    private readonly comments: CommentStore,
  ) {}

  init() {
    this.pubsub.join('comments');
  }

  @OnMessage()
  comment(text: string) {
    const comment = this.comments.add(text);
    if (comment) return this.pubsub.broadcast('comments', 'new_comment', comment.text);
  }

  @OnInfo({ channel: 'comments', topic: 'new_comment' })
  push(msg: PubSubMessage<string>) {
    return reply(msg.payload);
  }
}
