// The blog's posts and their comments, in memory.
import { Injectable } from 'vela';
import { MAX_COMMENT_LENGTH } from '../comments/comment-store.js';

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

@Injectable()
export class PostStore {
  readonly #posts = new Map<number, Post>([
    [1, { id: 1, title: 'Hello, Nova', body: 'Vela brings Nova’s controllers and sockets to TypeScript.', comments: [] }],
    [2, { id: 2, title: 'Live comments', body: 'Open the home page in two tabs and say something.', comments: [] }],
  ]);

  all(): Post[] {
    return [...this.#posts.values()];
  }

  get(id: number): Post | undefined {
    return this.#posts.get(id);
  }

  /** Adds a comment to a post; undefined when the post does not exist or the text is empty. */
  comment(id: number, author: string, text: string): PostComment | undefined {
    const post = this.#posts.get(id);
    const trimmed = text.trim().slice(0, MAX_COMMENT_LENGTH);
    if (!post || !trimmed) return undefined;
    const comment = { author: author.trim().slice(0, 40) || 'anonymous', text: trimmed };
    post.comments.push(comment);
    return comment;
  }
}
