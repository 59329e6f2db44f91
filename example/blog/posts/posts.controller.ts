// Server-rendered pages (Nova's `{ok, Vars}`): the post list and a post with its comments, which
// public/live-comments.js then keeps live. Without script, the comment form still works: it posts
// here (csrf() token in a hidden field, a signed-in user), is validated by a zod schema, and one
// that fails renders the post again with the errors (@Route(400)).
import { z } from 'zod';
import { Controller, HttpError, InvalidRequestError, Route, ok, redirect, status, type Context, type Valid } from 'vela';
import { pageVars, signedIn, type SignedInUser } from '../auth.js';
import { CommentFeed } from '../comments/comment-feed.js';
import { CommentStore, CommentText } from '../comments/comment-store.js';
import { PostId } from '../comments/comments.controller.js';
import { PostStore } from './post-store.js';

/** The comment form's fields (the csrf() token, `_csrf`, is left out of the output). */
const CommentForm = z.object({ text: CommentText });

@Controller({ prefix: '/posts' })
export class PostsController {
  constructor(
    private readonly posts: PostStore,
    private readonly comments: CommentStore,
    private readonly feed: CommentFeed,
  ) {}

  @Route('/')
  index(ctx: Context) {
    return ok(pageVars(ctx, { title: 'Posts', posts: this.posts.all() })); // views/posts/index.liquid
  }

  @Route('/:id')
  show(ctx: Context) {
    const vars = this.#postVars(ctx);
    return vars ? ok(vars) : ['error', 'not_found']; // views/posts/show.liquid
  }

  @Route('/:id/comments', { methods: ['post'], params: PostId, body: CommentForm, security: signedIn })
  async comment(ctx: Context, { params, body }: Valid<{ params: typeof PostId; body: typeof CommentForm }>) {
    if (!this.posts.get(params.id)) return ['error', 'not_found'];
    const { user } = ctx.state.auth as { user: SignedInUser };
    await this.feed.post(params.id, user.name, body.text);
    return redirect(`/posts/${params.id}#comments`);
  }

  /**
   * A comment form that failed CommentForm: the post again, with what to fix and what was typed,
   * sent as 400. Any other 400 under /posts gets the blog's error page (a status route without a body).
   */
  @Route(400)
  invalid(ctx: Context, error: HttpError) {
    const vars = this.#postVars(ctx);
    if (!(error instanceof InvalidRequestError) || !vars) return status(400);
    const typed = (ctx.request.body ?? {}) as Record<string, unknown>;
    return ok({ ...vars, errors: error.issues.map((issue) => issue.message), typed }, { view: 'posts/show' });
  }

  /** What posts/show needs: the post, its comments, who is looking; undefined when there is no such post. */
  #postVars(ctx: Context) {
    const post = this.posts.get(Number(ctx.params.id));
    return post && pageVars(ctx, { title: post.title, post, comments: this.comments.forPost(post.id) });
  }
}
