// The latest comments, kept in memory so a page opened later shows what was said before it.
import { Injectable } from 'vela';

export interface Comment {
  text: string;
  at: string;
}

const KEEP = 100;
export const MAX_COMMENT_LENGTH = 500;

@Injectable()
export class CommentStore {
  readonly #comments: Comment[] = [];

  all(): Comment[] {
    return [...this.#comments];
  }

  /** Stores a comment, trimmed and cut to MAX_COMMENT_LENGTH; undefined when it is empty. */
  add(text: string): Comment | undefined {
    const trimmed = text.trim().slice(0, MAX_COMMENT_LENGTH);
    if (!trimmed) return undefined;
    const comment = { text: trimmed, at: new Date().toISOString() };
    this.#comments.push(comment);
    if (this.#comments.length > KEEP) this.#comments.shift();
    return comment;
  }
}
