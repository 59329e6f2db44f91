// The seeds' public group (`/` live comments page, `/login`, `/heartbeat`, `/api/csrf-token`) and the
// login-protected group (`POST /`). csrf() runs on every route (BLOG_OPTIONS): the login form
// carries the token, and a POST without it is refused with 403 before the password is looked at.
import { Controller, Route, json, ok, status, type Context } from 'vela';
import { usernamePassword } from './auth.js';

@Controller()
export class MainController {
  @Route('/')
  index() {
    return ok({}); // views/main/index.liquid
  }

  @Route('/login')
  login(ctx: Context) {
    return ok({ failed: ctx.query.failed === '1' }); // views/main/login.liquid
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

  @Route(404)
  notFound(ctx: Context) {
    return json({ error: 'not found', path: ctx.path });
  }
}

@Controller({ security: usernamePassword })
export class DashboardController {
  @Route('/', { methods: ['post'] })
  index(ctx: Context) {
    const { username } = ctx.state.auth as { username: string };
    return json({ message: `Welcome, ${username}!` }, { status: 200 });
  }
}
