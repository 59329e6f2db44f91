// Each post's comments, in the blog's SQLite database, so a page opened later, even after a
// restart, shows what was said before it. The schema is data/schema.ts's.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { Injectable } from 'vela';
import { BlogDatabase } from '../data/blog-database.js';

export interface Comment {
  /** Unique across processes and restarts, so a page never mistakes a new comment for one it shows. */
  id: string;
  postId: number;
  author: string;
  text: string;
  /** When it was posted, ISO 8601 in UTC. */
  at: string;
}

/** What a page shows of a comment, as the post's channel carries it. */
export type CommentMessage = Pick<Comment, 'id' | 'author' | 'text' | 'at'>;

/** A page shows a post's latest SHOWN comments, and so does /api/posts/:id/comments. */
const SHOWN = 200;
export const MAX_COMMENT_LENGTH = 500;

/** The comment text a page or a script may send: trimmed, 1 to MAX_COMMENT_LENGTH characters. Messages name the fix. */
export const CommentText = z
  .string({ error: 'text must be a non-empty string' })
  .trim()
  .min(1, 'text must be a non-empty string')
  .max(MAX_COMMENT_LENGTH, { error: (issue) => `text is ${String(issue.input).length} characters: shorten it to ${MAX_COMMENT_LENGTH} at most` });

/** A new comment, however it arrives: the post socket's `post` event and `POST /api/posts/:id/comments` validate with it. */
export const NewComment = z.object({ text: CommentText });

export const toMessage = ({ id, author, text, at }: Comment): CommentMessage => ({ id, author, text, at });

@Injectable()
export class CommentStore {
  constructor(private readonly database: BlogDatabase) {}

  /** A post's latest comments, oldest first. */
  forPost(postId: number): CommentMessage[] {
    const latest = this.database.db
      .prepare('SELECT id, author, text, at FROM comments WHERE post_id = ? ORDER BY seq DESC LIMIT ?')
      .all(postId, SHOWN) as CommentMessage[];
    return latest.reverse();
  }

  /** Stores a comment by `author` on a post that exists (the caller checked); `text` is already valid. */
  add(postId: number, author: string, text: string): Comment {
    const comment: Comment = { id: randomUUID(), postId, author, text, at: new Date().toISOString() };
    this.database.db.prepare('INSERT INTO comments (id, post_id, author, text, at) VALUES (@id, @postId, @author, @text, @at)').run(comment);
    return comment;
  }
}
