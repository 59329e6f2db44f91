// The latest comments, kept in memory so a page opened later shows what was said before it.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
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

/** The comment text a page or a script may send: trimmed, 1 to MAX_COMMENT_LENGTH characters. Messages name the fix. */
export const CommentText = z
  .string({ error: 'text must be a non-empty string' })
  .trim()
  .min(1, 'text must be a non-empty string')
  .max(MAX_COMMENT_LENGTH, { error: (issue) => `text is ${String(issue.input).length} characters: shorten it to ${MAX_COMMENT_LENGTH} at most` });

/** A new comment, however it arrives: the comments socket's `post` event and `POST /api/comments` validate with it. */
export const NewComment = z.object({ text: CommentText });

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
