// Server-rendered pages (Nova's `{ok, Vars}`): the post list and a post with its comments. The
// comment form is protected by csrf() (BLOG_OPTIONS): the template puts `csrf_token` in a hidden field.
import { Controller, Route, ok, redirect, type Context } from 'vela';
import { PostStore } from './post-store.js';

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

  @Route('/:id/comments', { methods: ['post'] })
  comment(ctx: Context) {
    const id = Number(ctx.params.id);
    const { author = '', text = '' } = (ctx.request.body ?? {}) as Record<string, string>;
    if (!this.posts.get(id)) return ['error', 'not_found'];
    this.posts.comment(id, String(author), String(text));
    return redirect(`/posts/${id}#comments`);
  }
}
