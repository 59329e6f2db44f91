// The seeds' live comments (Nova's blog_comments_ws_handler): every socket joins `comments`, a
// comment sent by one is broadcast to all — the sender included — and each pushes it to its client.
// `comments` keeps a history (app.module.ts), so a page that lost its link gets what it missed.
// The page also shows who is on it: each socket is tracked in the channel's presence under its
// visitor's name (`/comments?name=Ada`), so one name in several tabs is one key with several metas.
import type { z } from 'zod';
import {
  OnInfo,
  OnMessage,
  Presence,
  PubSub,
  WebSocket,
  ack,
  json,
  reply,
  type Connection,
  type PresenceDiff,
  type PubSubMessage,
} from 'vela';
import { CommentFeed } from './comment-feed.js';
import { NewComment, type CommentMessage } from './comment-store.js';
import { CommentsPushes, Posted } from './pushes.js';
import { visitorName } from './visitor-name.js';

@WebSocket('/comments', { maxPayload: 4 * 1024, pushes: CommentsPushes })
export class CommentsGateway {
  constructor(
    private readonly pubsub: PubSub,
    private readonly feed: CommentFeed,
    private readonly presence: Presence,
  ) {}

  /** Joins, tracks this tab, then sends the list it is in: on every connection, so a page that reconnects starts over from it. */
  async init(conn: Connection) {
    this.pubsub.join('comments');
    const name = visitorName(conn, 'guest');
    await this.presence.track('comments', name, { name });
    return reply(json({ event: 'presence_state', data: await this.presence.list('comments') }));
  }

  /**
   * The page's request `post` `{ text }`: answered with the stored comment's id, which its broadcast
   * carries too. Data that fails NewComment never gets here: the request is answered `invalid` with
   * the issues (the page shows their messages).
   */
  @OnMessage('post', { data: NewComment, reply: Posted, summary: 'Post a comment; answered with its id' })
  async post(data: z.infer<typeof NewComment>) {
    const comment = await this.feed.post(data.text);
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

  /** Tabs that opened or closed (the window's changes on every node): the page's presence() applies them. */
  @OnInfo({ channel: 'comments', topic: 'presence_diff' })
  relayPresence(msg: PubSubMessage<PresenceDiff>) {
    return reply(json({ event: 'presence_diff', data: msg.payload }));
  }
}
