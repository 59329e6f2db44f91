// Signing in and out. The form posts name and password (with the csrf() token, as every form);
// a match gives the session a new id (regenerate(): no session fixation), keeps the user in it and
// goes back to the page the visitor came from; a miss shows the form again with 401.
import { z } from 'zod';
import { Controller, Route, ok, redirect, type Context, type Valid } from 'vela';
import { UserStore } from '../users/user-store.js';
import { pageVars, rememberUser, returnPath } from '../auth.js';

/** The sign-in form's fields (the csrf() token, `_csrf`, is left out of the output). */
const SignInForm = z.object({
  name: z.string().trim().max(100).default(''),
  password: z.string().max(200).default(''),
  return: z.string().max(200).optional(),
});

@Controller()
export class SessionController {
  constructor(private readonly users: UserStore) {}

  @Route('/login')
  form(ctx: Context) {
    return ok(pageVars(ctx, { title: 'Sign in', back: returnPath(ctx.query.return) }), { view: 'session/login' });
  }

  @Route('/login', { methods: ['post'], body: SignInForm })
  async signIn(ctx: Context, { body }: Valid<{ body: typeof SignInForm }>) {
    const back = returnPath(body.return);
    const user = await this.users.signIn(body.name, body.password);
    if (!user) {
      const vars = { title: 'Sign in', back, name: body.name, failed: true };
      return ok(pageVars(ctx, vars), { view: 'session/login', status: 401 });
    }
    await ctx.state.session.regenerate();
    rememberUser(ctx, user);
    return redirect(back);
  }

  @Route('/logout', { methods: ['post'] })
  async signOut(ctx: Context) {
    await ctx.state.session.destroy();
    return redirect(returnPath(ctx.request.body && (ctx.request.body as Record<string, unknown>).return));
  }
}
