// What the session tests share: a Set-Cookie parser, stores that record or fail their calls, and an
// app whose routes read and write ctx.state.session.
import { Controller, Module, Route, json, type Context } from '../../src/index.js';
import type { Session, SessionData, SessionStore } from '../../src/session/index.js';
import { signedIds } from '../../src/session/signed-id.js';

/** A secret tests pass as `sessions: { secret }`, so that they can sign ids of their own. */
export const TEST_SECRET = 'a test secret, 32 characters or more';
const testIds = signedIds(TEST_SECRET, 'TEST_SECRET');

/** The cookie value that presents `id` under TEST_SECRET. */
export function signedCookie(id: string): string {
  return testIds.sign(id);
}

/** The session id inside a session cookie's value (`<id>.<signature>`). */
export function idOf(cookieValue: string): string {
  return cookieValue.slice(0, cookieValue.indexOf('.'));
}

export interface SetCookie {
  name: string;
  value: string;
  /** Attribute names lower-cased; valueless attributes (HttpOnly) map to ''. */
  attributes: Record<string, string>;
}

/** Every Set-Cookie header of a response, parsed. */
export function setCookies(res: Response): SetCookie[] {
  return res.headers.getSetCookie().map((line) => {
    const [pair = '', ...rest] = line.split(';').map((part) => part.trim());
    const at = pair.indexOf('=');
    const attributes: Record<string, string> = {};
    for (const attribute of rest) {
      const eq = attribute.indexOf('=');
      if (eq === -1) attributes[attribute.toLowerCase()] = '';
      else attributes[attribute.slice(0, eq).toLowerCase()] = attribute.slice(eq + 1);
    }
    return { name: pair.slice(0, at), value: pair.slice(at + 1), attributes };
  });
}

/** The one session cookie a response sets, or undefined when it sets none. */
export function sessionCookie(res: Response, name = 'session_id'): SetCookie | undefined {
  const found = setCookies(res).filter((cookie) => cookie.name === name);
  if (found.length > 1) throw new Error(`expected at most one ${name} cookie, got ${found.length}`);
  return found[0];
}

/** Request headers that present `cookieValue` (a signed id, as the cookie carries it) as the session cookie. */
export function withSession(cookieValue: string, name = 'session_id'): RequestInit {
  return { headers: { cookie: `${name}=${cookieValue}` } };
}

export type StoreCall = [operation: 'load' | 'save' | 'touch' | 'destroy', id: string];

/** A store that passes every call to `inner` and writes it down first. */
export function recordingStore(inner: SessionStore): SessionStore & { calls: StoreCall[] } {
  const calls: StoreCall[] = [];
  return {
    name: 'recording',
    calls,
    load: (id) => (calls.push(['load', id]), inner.load(id)),
    save: (id, data, ttl, options) => (calls.push(['save', id]), inner.save(id, data, ttl, options)),
    touch: (id, ttl) => (calls.push(['touch', id]), inner.touch(id, ttl)),
    destroy: (id) => (calls.push(['destroy', id]), inner.destroy(id)),
    secret: () => inner.secret!(),
  };
}

/** A store named 'broken' whose `operation` rejects with `message`; the other operations work. */
export function failingStore(inner: SessionStore, operation: StoreCall[0], message: string): SessionStore {
  const fail = async (): Promise<never> => {
    throw new Error(message);
  };
  return {
    name: 'broken',
    load: (id) => (operation === 'load' ? fail() : inner.load(id)),
    save: (id, data: SessionData, ttl, options) => (operation === 'save' ? fail() : inner.save(id, data, ttl, options)),
    touch: (id, ttl) => (operation === 'touch' ? fail() : inner.touch(id, ttl)),
    destroy: (id) => (operation === 'destroy' ? fail() : inner.destroy(id)),
    secret: () => inner.secret!(),
  };
}

/** A clock tests move by hand, for stores that expire entries. */
export function manualClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

const session = (ctx: Context) => ctx.state.session as Session;

/** GET routes over the session: /session, /set?key&value (value as JSON), /delete?key, /destroy. */
@Controller()
export class SessionController {
  @Route('/session')
  show(ctx: Context) {
    const keys = String(ctx.query.keys ?? '').split(',').filter(Boolean);
    return json({ id: session(ctx).id, values: Object.fromEntries(keys.map((key) => [key, session(ctx).get(key) ?? null])) });
  }

  @Route('/set')
  set(ctx: Context) {
    session(ctx).set(String(ctx.query.key), JSON.parse(String(ctx.query.value)));
    return json({ id: session(ctx).id });
  }

  @Route('/delete')
  delete(ctx: Context) {
    session(ctx).delete(String(ctx.query.key));
    return json({ id: session(ctx).id });
  }

  @Route('/destroy')
  async destroy(ctx: Context) {
    await session(ctx).destroy();
    return json({ destroyed: session(ctx).id, after: session(ctx).get('secret') ?? null });
  }

  @Route('/destroy-then-set')
  async destroyThenSet(ctx: Context) {
    await session(ctx).destroy();
    session(ctx).set('secret', 'again');
    return json({});
  }
}

@Module({ controllers: [SessionController] })
export class SessionModule {}
