// Posting a comment, however it arrives (the post page's socket, the form without script,
// /api/posts/:id/comments): stored, then broadcast on the post's channel as a CommentMessage, so
// every page on that post gets the same shape and can tell it by its id.
import { Injectable, PubSub } from 'vela';
import { CommentStore, toMessage, type Comment } from './comment-store.js';

/** The channel of a post's live page: its comments (with history, app.module.ts) and who is reading it. */
export const postChannel = (postId: number) => `post:${postId}`;

@Injectable()
export class CommentFeed {
  constructor(
    private readonly store: CommentStore,
    private readonly pubsub: PubSub,
  ) {}

  /** Stores the comment and broadcasts it to the post's readers. */
  async post(postId: number, author: string, text: string): Promise<Comment> {
    const comment = this.store.add(postId, author, text);
    await this.pubsub.broadcast(postChannel(postId), 'new_comment', toMessage(comment));
    return comment;
  }
}
