// The blog's posts and their comments, in the blog's SQLite database: they survive a restart.
import { Injectable, type OnInit } from 'vela';
import { MAX_COMMENT_LENGTH } from '../comments/comment-store.js';
import { BlogDatabase } from '../data/blog-database.js';

export interface PostComment {
  author: string;
  text: string;
}

export interface Post {
  id: number;
  title: string;
  body: string;
  comments: PostComment[];
}

const SEEDS = [
  { id: 1, title: 'Hello, Nova', body: 'Vela brings Nova’s controllers and sockets to TypeScript.' },
  { id: 2, title: 'Live comments', body: 'Open the home page in two tabs and say something.' },
];

@Injectable()
export class PostStore implements OnInit {
  constructor(private readonly database: BlogDatabase) {}

  /** After BlogDatabase.onInit: the tables, and the two posts (kept if they are already there). */
  onInit(): void {
    const { db } = this.database;
    db.exec(`
      CREATE TABLE IF NOT EXISTS posts (id INTEGER PRIMARY KEY, title TEXT NOT NULL, body TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS post_comments (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        post_id INTEGER NOT NULL REFERENCES posts (id),
        author TEXT NOT NULL,
        text TEXT NOT NULL
      );
    `);
    const seed = db.prepare('INSERT OR IGNORE INTO posts (id, title, body) VALUES (@id, @title, @body)');
    for (const post of SEEDS) seed.run(post);
  }

  all(): Post[] {
    const posts = this.database.db.prepare('SELECT id, title, body FROM posts ORDER BY id').all() as Omit<Post, 'comments'>[];
    return posts.map((post) => ({ ...post, comments: this.#comments(post.id) }));
  }

  get(id: number): Post | undefined {
    const post = this.database.db.prepare('SELECT id, title, body FROM posts WHERE id = ?').get(id) as Omit<Post, 'comments'> | undefined;
    return post && { ...post, comments: this.#comments(id) };
  }

  /** Adds a comment to a post; undefined when the post does not exist or the text is empty. */
  comment(id: number, author: string, text: string): PostComment | undefined {
    const trimmed = text.trim().slice(0, MAX_COMMENT_LENGTH);
    if (!this.get(id) || !trimmed) return undefined;
    const comment = { author: author.trim().slice(0, 40) || 'anonymous', text: trimmed };
    this.database.db.prepare('INSERT INTO post_comments (post_id, author, text) VALUES (?, ?, ?)').run(id, comment.author, comment.text);
    return comment;
  }

  #comments(id: number): PostComment[] {
    return this.database.db.prepare('SELECT author, text FROM post_comments WHERE post_id = ? ORDER BY seq').all(id) as PostComment[];
  }
}
