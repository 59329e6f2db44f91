// Security functions for the blog, as in the seeds' `my_first_nova_auth:username_password/1`.
import { redirect, type Context } from 'vela';

const USERNAME = process.env.BLOG_USER ?? 'admin';
const PASSWORD = process.env.BLOG_PASSWORD ?? 'nova';

/**
 * Checks the login form's fields. On success the returned object becomes `ctx.state.auth`;
 * otherwise the browser goes back to the form.
 */
export function usernamePassword(ctx: Context) {
  const { username, password } = (ctx.request.body ?? {}) as Record<string, unknown>;
  if (username === USERNAME && password === PASSWORD) return { username };
  return redirect('/login?failed=1');
}
