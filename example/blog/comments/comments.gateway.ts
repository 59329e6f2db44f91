// The seeds' live comments (Nova's blog_comments_ws_handler): every socket joins `comments`, a
// comment sent by one is broadcast to all — the sender included — and each pushes it to its client.
// `comments` keeps a history (app.module.ts), so a page that lost its link gets what it missed.
import { OnInfo, OnMessage, PubSub, WebSocket, WsError, ack, json, reply, type PubSubMessage } from 'vela';
import { CommentFeed } from './comment-feed.js';
import { commentProblem, type CommentMessage } from './comment-store.js';

@WebSocket('/comments', { maxPayload: 4 * 1024 })
export class CommentsGateway {
  constructor(
    private readonly pubsub: PubSub,
    private readonly feed: CommentFeed,
  ) {}

  init() {
    this.pubsub.join('comments');
  }

  /** The page's request `post` `{ text }`: answered with the stored comment's id, which its broadcast carries too. */
  @OnMessage('post')
  async post(data: { text?: unknown } | null) {
    const problem = commentProblem(data?.text);
    if (problem) throw new WsError('invalid', problem);
    const comment = await this.feed.post(data!.text as string);
    return ack({ id: comment!.id });
  }

  /** A plain text frame, as clients before requests sent it: posted the same way, with no answer. */
  @OnMessage()
  async comment(text: string) {
    await this.feed.post(text);
  }

  @OnInfo({ channel: 'comments', topic: 'new_comment' })
  push(msg: PubSubMessage<CommentMessage>) {
    return reply(json({ event: 'new_comment', data: msg.payload }));
  }
}
