// Posting a comment, however it arrives (the page's socket, /api/comments): stored, then broadcast
// on `comments` as a CommentMessage, so every page gets the same shape and can tell it by its id.
import { Injectable, PubSub } from 'vela';
import { CommentStore, toMessage, type Comment } from './comment-store.js';

@Injectable()
export class CommentFeed {
  constructor(
    private readonly store: CommentStore,
    private readonly pubsub: PubSub,
  ) {}

  /** Stores `text` and broadcasts it; undefined (nothing sent) when it is empty. */
  async post(text: string): Promise<Comment | undefined> {
    const comment = this.store.add(text);
    if (comment) await this.pubsub.broadcast('comments', 'new_comment', toMessage(comment));
    return comment;
  }
}
