// Who is signed in: the session keeps `{ id, name }` under 'user' (SessionController signs in and
// out). Pages read it to show the name in the navigation; routes that write need it, through these
// security functions; the live comments socket reads it on its upgrade, where the session is loaded too.
import { redirect, type Context } from 'vela';

export interface SignedInUser {
  id: number;
  name: string;
}

const SESSION_KEY = 'user';

/** The signed-in user of this request's session, or undefined for a visitor. */
export function currentUser(ctx: Context): SignedInUser | undefined {
  return ctx.state.session?.get<SignedInUser>(SESSION_KEY);
}

export function rememberUser(ctx: Context, user: SignedInUser): void {
  ctx.state.session.set(SESSION_KEY, { id: user.id, name: user.name });
}

/**
 * A path on this site to go back to after signing in: `/posts/1`, never `//evil.example` or
 * `https://…` (an open redirect would let another site use the blog's login to send users anywhere).
 */
export function returnPath(value: unknown, fallback = '/'): string {
  return typeof value === 'string' && value.startsWith('/') && !value.startsWith('//') && !value.startsWith('/\\') && value.length <= 200 ? value : fallback;
}

/** A page route that needs a user: a visitor is sent to the sign-in form, and comes back here after it. */
export function signedIn(ctx: Context) {
  const user = currentUser(ctx);
  if (user) return { user };
  // A form post goes back to the page the form was on (its Referer), a page to itself.
  const referer = ctx.get('referer');
  const back = ctx.method === 'GET' ? ctx.originalUrl : URL.canParse(referer) ? new URL(referer).pathname : '/';
  return redirect(`/login?return=${encodeURIComponent(returnPath(back))}`);
}

/** An API route that needs a user: a visitor's request is answered 401 (sign in through /login first). */
export function signedInApi(ctx: Context) {
  const user = currentUser(ctx);
  return user ? { user } : false;
}

/** A page's variables with who is looking (`viewer`, for the navigation) and where (`path`, for "sign in and come back"). */
export function pageVars<T extends object>(ctx: Context, vars: T): T & { viewer: SignedInUser | undefined; path: string } {
  return { ...vars, viewer: currentUser(ctx), path: ctx.originalUrl };
}
