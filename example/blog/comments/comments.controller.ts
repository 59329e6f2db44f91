// A post's comments over HTTP: the post page loads them when its socket opens (what was said
// between the render and the join), and a script signed in as a user (session cookie, and the CSRF
// token from /api/csrf-token in x-csrf-token) posts one that reaches every open page of the post
// through the same channel, in the same shape, as one posted from a page.
import { z } from 'zod';
import { Controller, Route, json, type Context, type Valid } from 'vela';
import { signedInApi, type SignedInUser } from '../auth.js';
import { PostStore } from '../posts/post-store.js';
import { CommentFeed } from './comment-feed.js';
import { CommentStore, NewComment, toMessage } from './comment-store.js';

/** A post's id in the path: digits, as a number. */
export const PostId = z.object({ id: z.coerce.number().int().positive() });

@Controller({ prefix: '/api/posts' })
export class CommentsController {
  constructor(
    private readonly posts: PostStore,
    private readonly comments: CommentStore,
    private readonly feed: CommentFeed,
  ) {}

  @Route('/:id/comments', { params: PostId })
  index(_ctx: Context, { params }: Valid<{ params: typeof PostId }>) {
    return this.posts.get(params.id) ? json(this.comments.forPost(params.id)) : ['error', 'not_found'];
  }

  /** `{ text }`, checked by NewComment: a blank or too long text is a 400 listing the issues; a visitor gets 401. */
  @Route('/:id/comments', { methods: ['post'], params: PostId, body: NewComment, security: signedInApi })
  async create(ctx: Context, { params, body }: Valid<{ params: typeof PostId; body: typeof NewComment }>) {
    if (!this.posts.get(params.id)) return ['error', 'not_found'];
    const { user } = ctx.state.auth as { user: SignedInUser };
    return json(toMessage(await this.feed.post(params.id, user.name, body.text)));
  }
}
