// Cross-site request forgery protection with a synchronizer token: one random token per session id,
// handed to pages (`ctx.state.csrfToken`, `csrf_token` in templates) and required back on every
// request that can change something. Another site can make a browser send the session cookie, but
// it cannot read the token. Bound to the id, the token changes when the session is regenerated.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { bodyParser } from '@koa/bodyparser';
import type { Context, Middleware } from 'koa';
import { ConfigError } from '../app/errors.js';
import { HttpError } from '../http/http-error.js';
import type { Session } from '../session/index.js';
import { isToken } from '../http/header-token.js';

export interface CsrfOptions {
  /**
   * Paths that need no token (webhooks, endpoints authenticated otherwise). A string excludes
   * that path and every path below it (`'/hooks'` → `/hooks`, `/hooks/stripe`); a RegExp is
   * tested against the path. Excluded requests still get `ctx.state.csrfToken`.
   */
  exclude?: readonly (string | RegExp)[];
  /** The request header carrying the token. Default 'x-csrf-token'. */
  header?: string;
  /** The form (or JSON body) field carrying the token. Default '_csrf'. */
  field?: string;
  /**
   * Largest urlencoded form csrf() reads itself, when it runs before routing (global middleware).
   * Match bootstrap's `body.formLimit` if you changed it. Default '56kb', as bootstrap's.
   */
  formLimit?: string | number;
}

declare module 'koa' {
  interface DefaultState {
    /** This session's CSRF token (the csrf() plugin); templates get it as `csrf_token`. */
    csrfToken?: string;
  }
}

/** The session key holding the token. Reserved: an app writing it changes every form's token. */
export const CSRF_SESSION_KEY = 'vela.csrf';

/** What the session holds: the token and the session id it was made for. */
interface StoredToken {
  sessionId: string;
  token: string;
}
/** 32 random bytes as base64url, no padding. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;
/** Methods that must not change anything (RFC 9110 safe methods); every other one needs the token. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/**
 * Requires the session's CSRF token on every request other than GET, HEAD, OPTIONS and TRACE,
 * in the `x-csrf-token` header or the `_csrf` field of the body; a missing or wrong token fails
 * the request with 403 (rendered by the 403 status route). Every request can read the token on
 * `ctx.state.csrfToken`; it lives in the session, so sessions must be on (they are by default).
 * It is made when first read, so a request that renders no form starts no session. It belongs to
 * the session's id: `session.regenerate()` (at login) makes every earlier token worthless, and the
 * next read of `ctx.state.csrfToken` makes a new one.
 *
 * Placement: as group middleware (`@Controller({ middleware: [csrf()] })`) it runs after body
 * parsing and reads urlencoded and JSON fields; as global middleware (`bootstrap({ middleware })`)
 * it protects every route and reads urlencoded forms itself (up to `formLimit`). Either way,
 * multipart forms and `fetch` calls send the header.
 *
 * @example
 * await bootstrap(AppModule, { middleware: [csrf({ exclude: ['/hooks'] })] });
 */
export function csrf(options: CsrfOptions = {}): Middleware {
  const { header = 'x-csrf-token', field = '_csrf', exclude = [], formLimit } = options;
  if (typeof header !== 'string' || !isToken(header)) {
    throw new ConfigError(`csrf({ header: ${JSON.stringify(header)} }): a header name is letters, digits and !#$%&'*+-.^_\`|~ only, e.g. 'x-csrf-token'.`);
  }
  if (typeof field !== 'string' || field === '') {
    throw new ConfigError(`csrf({ field: ${JSON.stringify(field)} }): the form field is a non-empty string, e.g. '_csrf'.`);
  }
  const excluded = exclusions(exclude);
  const parseForm = bodyParser({ enableTypes: ['form'], ...(formLimit === undefined ? {} : { formLimit }) }) as unknown as Middleware;

  return async (ctx, next) => {
    const session = sessionOf(ctx);
    // A getter: only a request that reads the token (a page with a form) makes one, and with it
    // the session's id and a store write. Assigning it replaces it, as with any state.
    Object.defineProperty(ctx.state, 'csrfToken', {
      get: () => sessionToken(session),
      set: (value: unknown) => Object.defineProperty(ctx.state, 'csrfToken', { value, writable: true, enumerable: true, configurable: true }),
      enumerable: true,
      configurable: true,
    });
    if (SAFE_METHODS.has(ctx.method) || excluded(ctx.path)) return next();

    const presented = ctx.get(header) || (await bodyField(ctx, field, parseForm));
    if (!presented) throw new HttpError(403, `CSRF token missing: send it in the ${header} header or the ${field} form field.`);
    const token = existingToken(session);
    if (token === undefined) {
      throw new HttpError(403, 'CSRF token invalid: this session has no token (it is new, or it was regenerated at login): load the form again.');
    }
    if (!matches(presented, token)) throw new HttpError(403, `CSRF token invalid: it does not match this session's token.`);
    return next();
  };
}

function sessionOf(ctx: Context): Session {
  const session = ctx.state.session as Session | undefined;
  if (!session) {
    throw new ConfigError(
      `csrf() needs sessions, but ctx.state.session is missing: remove bootstrap({ sessions: false }), ` +
        `or run sessionMiddleware() before csrf() if you manage sessions yourself.`,
    );
  }
  return session;
}

/** The token made for this session id, if there is one. */
function existingToken(session: Session): string | undefined {
  const stored = session.get<Partial<StoredToken>>(CSRF_SESSION_KEY);
  if (typeof stored !== 'object' || stored === null) return undefined;
  const { sessionId, token } = stored;
  // A token made for another id came from before regenerate(): it would let a page taken before
  // login act after it.
  return typeof token === 'string' && TOKEN_SHAPE.test(token) && sessionId === session.id ? token : undefined;
}

/** The session's token, made and stored on first use. */
function sessionToken(session: Session): string {
  const existing = existingToken(session);
  if (existing !== undefined) return existing;
  const token = randomBytes(32).toString('base64url');
  session.set(CSRF_SESSION_KEY, { sessionId: session.id, token } satisfies StoredToken);
  return token;
}

/**
 * The token field of the parsed body. Before routing (global middleware) the body is not parsed
 * yet: an urlencoded form is parsed here, and the route's parser then keeps that result.
 */
async function bodyField(ctx: Context, field: string, parseForm: Middleware): Promise<string | undefined> {
  if (ctx.request.body === undefined && ctx.is('urlencoded')) await parseForm(ctx, async () => {});
  const body: unknown = ctx.request.body;
  if (typeof body !== 'object' || body === null || !Object.hasOwn(body, field)) return undefined;
  const value: unknown = (body as Record<string, unknown>)[field];
  return typeof value === 'string' ? value : undefined;
}

function matches(presented: string, token: string): boolean {
  const a = Buffer.from(presented);
  const b = Buffer.from(token);
  // The length is no secret (every token has 43 characters); timingSafeEqual needs equal lengths.
  return a.length === b.length && timingSafeEqual(a, b);
}

function exclusions(exclude: readonly (string | RegExp)[]): (path: string) => boolean {
  const tests = exclude.map((entry) => {
    if (entry instanceof RegExp) {
      // Without g/y a RegExp keeps no lastIndex between requests.
      const pattern = new RegExp(entry.source, entry.flags.replace(/[gy]/g, ''));
      return (path: string) => pattern.test(path);
    }
    if (typeof entry !== 'string' || !entry.startsWith('/')) {
      throw new ConfigError(`csrf({ exclude }): ${JSON.stringify(entry)} is not a path: write paths from the root, e.g. '/hooks', or a RegExp.`);
    }
    const base = entry.length > 1 && entry.endsWith('/') ? entry.slice(0, -1) : entry;
    const below = base === '/' ? '/' : `${base}/`;
    return (path: string) => path === base || path.startsWith(below);
  });
  return (path) => tests.some((matchesPath) => matchesPath(path));
}
