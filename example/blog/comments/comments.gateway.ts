// A post's live page (Nova's blog_comments_ws_handler, one channel per post): every socket on
// /posts/1/live joins `post:1`, a comment sent by a signed-in reader is stored and broadcast to
// all of them — the sender included — and each pushes it to its page. `post:*` keeps a history
// (app.module.ts), so a page that lost its link gets what it missed. The page also shows who is
// reading: each socket is tracked in the channel's presence, a signed-in user under their id (one
// user in several tabs is one key with several metas), a visitor under their socket's own key.
import type { z } from 'zod';
import {
  OnInfo,
  OnMessage,
  Presence,
  PubSub,
  WebSocket,
  WsError,
  ack,
  json,
  reply,
  stop,
  type Connection,
  type Context,
  type PresenceDiff,
  type PubSubMessage,
} from 'vela';
import { currentUser, type SignedInUser } from '../auth.js';
import { PostStore } from '../posts/post-store.js';
import { CommentFeed, postChannel } from './comment-feed.js';
import { NewComment, type CommentMessage } from './comment-store.js';
import { CommentsPushes, Posted, type Reader } from './pushes.js';

/** The upgrade's session, read once: who this socket's reader is (no user for a visitor). */
function reader(ctx: Context): { user: SignedInUser | null } {
  return { user: currentUser(ctx) ?? null };
}

@WebSocket('/posts/:id/live', { maxPayload: 4 * 1024, pushes: CommentsPushes, security: reader })
export class CommentsGateway {
  #postId = 0;
  #user: SignedInUser | null = null;

  constructor(
    private readonly pubsub: PubSub,
    private readonly feed: CommentFeed,
    private readonly presence: Presence,
    private readonly posts: PostStore,
  ) {}

  /** Joins the post's channel, tracks this tab, then sends who is here: on every connection, so a page that reconnects starts over from it. */
  async init(conn: Connection) {
    const postId = Number(conn.request.params.id);
    if (!Number.isSafeInteger(postId) || !this.posts.get(postId)) return stop(4404, 'no such post');
    this.#postId = postId;
    this.#user = (conn.auth as { user: SignedInUser | null }).user;
    const channel = postChannel(postId);
    this.pubsub.join(channel);
    const meta: Reader = this.#user ? { name: this.#user.name, guest: false } : { name: 'Guest', guest: true };
    await this.presence.track(channel, this.#user ? `user:${this.#user.id}` : `guest:${conn.id}`, meta);
    return reply(json({ event: 'presence_state', data: await this.presence.list(channel) }));
  }

  /**
   * The page's request `post` `{ text }`, by its signed-in reader: answered with the stored
   * comment, which its broadcast carries too. Data that fails NewComment never gets here: the
   * request is answered `invalid` with the issues (the page shows their messages).
   */
  @OnMessage('post', { data: NewComment, reply: Posted, summary: 'Post a comment as the signed-in user; answered with the comment' })
  async post(data: z.infer<typeof NewComment>) {
    if (!this.#user) throw new WsError('unauthorized', 'sign in to comment');
    const { id, author, text, at } = await this.feed.post(this.#postId, this.#user.name, data.text);
    return ack({ id, author, text, at });
  }

  @OnInfo({ topic: 'new_comment' })
  push(msg: PubSubMessage<CommentMessage>) {
    return reply(json({ event: 'new_comment', data: msg.payload }));
  }

  /** Tabs that opened or closed (the window's changes on every node): the page's presence() applies them. */
  @OnInfo({ topic: 'presence_diff' })
  relayPresence(msg: PubSubMessage<PresenceDiff>) {
    return reply(json({ event: 'presence_diff', data: msg.payload }));
  }
}
