// The blog's posts, in the blog's SQLite database: they survive a restart. Their comments are the
// CommentStore's; a list of posts carries each one's count, in one query.
import { Injectable, type OnInit } from 'vela';
import { BlogDatabase } from '../data/blog-database.js';

export interface Post {
  id: number;
  title: string;
  body: string;
}

export interface PostSummary extends Post {
  comments: number;
}

const SEEDS: Post[] = [
  {
    id: 1,
    title: 'Hello, Nova',
    body: 'Vela brings Nova’s controllers and sockets to TypeScript: a controller returns a result, a gateway is one instance per connection, and pub/sub ties them together. Sign in and leave a comment: everyone reading this post sees it at once.',
  },
  {
    id: 2,
    title: 'Live comments',
    body: 'Open this post in two windows, sign in as Ada in one and as Joe in the other, and say something. The list of who is here follows you around, and a comment written while the server restarts is sent again once it is back.',
  },
];

@Injectable()
export class PostStore implements OnInit {
  constructor(private readonly database: BlogDatabase) {}

  /** After BlogDatabase.onInit: the two posts (kept if they are already there). */
  onInit(): void {
    const seed = this.database.db.prepare('INSERT OR IGNORE INTO posts (id, title, body) VALUES (@id, @title, @body)');
    for (const post of SEEDS) seed.run(post);
  }

  /** Every post with its number of comments, newest first. */
  all(): PostSummary[] {
    return this.database.db
      .prepare('SELECT p.id, p.title, p.body, (SELECT count(*) FROM comments c WHERE c.post_id = p.id) AS comments FROM posts p ORDER BY p.id DESC')
      .all() as PostSummary[];
  }

  get(id: number): Post | undefined {
    return this.database.db.prepare('SELECT id, title, body FROM posts WHERE id = ?').get(id) as Post | undefined;
  }
}
