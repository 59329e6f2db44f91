// The seeds' public group: the home page (the posts, newest first), `/heartbeat` and
// `/api/csrf-token`. csrf() runs on every route (BLOG_OPTIONS): every form carries the token, and
// a POST without it is refused with 403 before anything else is looked at.
import { Controller, Route, json, ok, status, type Context } from 'vela';
import { pageVars } from './auth.js';
import { PostStore } from './posts/post-store.js';

@Controller()
export class MainController {
  constructor(private readonly posts: PostStore) {}

  @Route('/')
  index(ctx: Context) {
    return ok(pageVars(ctx, { posts: this.posts.all() }), { view: 'posts/index' });
  }

  @Route('/heartbeat')
  heartbeat() {
    return status(200);
  }

  /** The session's CSRF token, for scripts and API clients (`x-csrf-token`); another site cannot read it. */
  @Route('/api/csrf-token')
  csrfToken(ctx: Context) {
    return json({ token: ctx.state.csrfToken });
  }
}
