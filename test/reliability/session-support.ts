// Shared by the session reliability cases (33, 35, 42): the routes a real app has around a session —
// a page that reads its id, a form page with a CSRF token, a login that regenerates, and who am I.
import { Controller, Route, json, type Context } from 'vela';

@Controller()
export class SessionPagesController {
  /** A page whose sockets Comms should reach: it reads its session id, so the browser gets the cookie. */
  @Route('/page')
  page(ctx: Context) {
    return json({ id: ctx.state.session.id });
  }

  /** A page with a form: its CSRF token is written to the session (an anonymous session that writes). */
  @Route('/form')
  form(ctx: Context) {
    return json({ token: ctx.state.csrfToken });
  }

  /** Login as an app should write it: regenerate() first, then the user; answers the new CSRF token. */
  @Route('/login', { methods: ['post'] })
  async login(ctx: Context) {
    await ctx.state.session.regenerate();
    ctx.state.session.set('user', 'victim');
    return json({ id: ctx.state.session.id, token: ctx.state.csrfToken }, { status: 200 });
  }

  @Route('/me')
  me(ctx: Context) {
    return json({ user: ctx.state.session.get('user') ?? null });
  }

  /** Something only the logged-in user may ask for (behind csrf() when that is on). */
  @Route('/transfer', { methods: ['post'] })
  transfer(ctx: Context) {
    return json({ by: ctx.state.session.get('user') ?? null }, { status: 200 });
  }
}
