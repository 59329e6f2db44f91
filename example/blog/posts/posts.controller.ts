// Server-rendered pages (Nova's `{ok, Vars}`): the post list and a post with its comments. The
// comment form is protected by csrf() (BLOG_OPTIONS): the template puts `csrf_token` in a hidden field.
// It is validated by a zod schema; one that fails renders the post again with the errors (@Route(400)).
import { z } from 'zod';
import { Controller, HttpError, InvalidRequestError, Route, ok, redirect, status, type Context, type Valid } from 'vela';
import { CommentText } from '../comments/comment-store.js';
import { PostStore } from './post-store.js';

/** A post's id in the path: digits, as a number. */
const PostId = z.object({ id: z.coerce.number().int().positive() });
/** The comment form's fields (the csrf() token, `_csrf`, is left out of the output). */
const CommentForm = z.object({ author: z.string().trim().max(40).default(''), text: CommentText });

@Controller({ prefix: '/posts' })
export class PostsController {
  constructor(private readonly posts: PostStore) {}

  @Route('/')
  index() {
    return ok({ posts: this.posts.all() }); // views/posts/index.liquid
  }

  @Route('/:id')
  show(ctx: Context) {
    const post = this.posts.get(Number(ctx.params.id));
    return post ? ok({ post }) : ['error', 'not_found']; // views/posts/show.liquid
  }

  @Route('/:id/comments', { methods: ['post'], params: PostId, body: CommentForm })
  comment(_ctx: Context, { params, body }: Valid<{ params: typeof PostId; body: typeof CommentForm }>) {
    if (!this.posts.get(params.id)) return ['error', 'not_found'];
    this.posts.comment(params.id, body.author, body.text);
    return redirect(`/posts/${params.id}#comments`);
  }

  /**
   * A comment form that failed CommentForm: the post again, with what to fix and what was typed,
   * sent as 400. Any other 400 under /posts gets Vela's own page (a status route without a body).
   */
  @Route(400)
  invalid(ctx: Context, error: HttpError) {
    const post = this.posts.get(Number(ctx.params.id));
    if (!(error instanceof InvalidRequestError) || !post) return status(400);
    const typed = (ctx.request.body ?? {}) as Record<string, unknown>;
    return ok({ post, errors: error.issues.map((issue) => issue.message), typed }, { view: 'posts/show' });
  }
}
