// The latest comments, kept in the blog's SQLite database so a page opened later, even after a
// restart, shows what was said before it.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { Injectable, type OnInit } from 'vela';
import { BlogDatabase } from '../data/blog-database.js';

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
export class CommentStore implements OnInit {
  constructor(private readonly database: BlogDatabase) {}

  /** After BlogDatabase.onInit: the table. `seq` keeps the order they were posted in. */
  onInit(): void {
    this.database.db.exec(
      'CREATE TABLE IF NOT EXISTS comments (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, text TEXT NOT NULL, at TEXT NOT NULL)',
    );
  }

  /** The latest KEEP comments, oldest first. */
  all(): Comment[] {
    const latest = this.database.db.prepare('SELECT id, text, at FROM comments ORDER BY seq DESC LIMIT ?').all(KEEP) as Comment[];
    return latest.reverse();
  }

  /** Stores a comment, trimmed and cut to MAX_COMMENT_LENGTH; undefined when it is empty. Only the latest KEEP are kept. */
  add(text: string): Comment | undefined {
    const trimmed = text.trim().slice(0, MAX_COMMENT_LENGTH);
    if (!trimmed) return undefined;
    const comment = { id: randomUUID(), text: trimmed, at: new Date().toISOString() };
    const { db } = this.database;
    db.transaction(() => {
      const { lastInsertRowid } = db.prepare('INSERT INTO comments (id, text, at) VALUES (@id, @text, @at)').run(comment);
      db.prepare('DELETE FROM comments WHERE seq <= ?').run(Number(lastInsertRowid) - KEEP);
    })();
    return comment;
  }
}
