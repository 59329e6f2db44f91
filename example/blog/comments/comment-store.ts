// The latest comments, kept in memory so a page opened later shows what was said before it.
import { randomUUID } from 'node:crypto';
import { Injectable } from 'vela';

export interface Comment {
  /** Unique across processes and restarts, so a page never mistakes a new comment for one it shows. */
  id: string;
  text: string;
  at: string;
}

/** What the comments channel carries, and what a page needs to show a comment once. */
export type CommentMessage = Pick<Comment, 'id' | 'text'>;

const KEEP = 100;
export const MAX_COMMENT_LENGTH = 500;

/** Why `text` cannot be a comment (a sentence naming the fix), or undefined when it can. */
export function commentProblem(text: unknown): string | undefined {
  if (typeof text !== 'string' || !text.trim()) return 'text must be a non-empty string';
  if (text.trim().length > MAX_COMMENT_LENGTH) return `text is ${text.trim().length} characters: shorten it to ${MAX_COMMENT_LENGTH} at most`;
  return undefined;
}

export const toMessage = ({ id, text }: Comment): CommentMessage => ({ id, text });

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
    const comment = { id: randomUUID(), text: trimmed, at: new Date().toISOString() };
    this.#comments.push(comment);
    if (this.#comments.length > KEEP) this.#comments.shift();
    return comment;
  }
}
