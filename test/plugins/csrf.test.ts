// csrf(): the token in the session, which requests need it, where it may come from (header, form
// field, JSON field) in each placement, excluded paths, and the errors.
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  Controller,
  Module,
  Route,
  csrf,
  json,
  type BootstrapOptions,
  type Context,
  type CsrfOptions,
} from 'vela';
import { sessionCookie } from '../session/support.js';
import { startTestApp, type TestApp } from 'vela/testing';
import { plainFetch } from '../support/plain-fetch.js';

const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

@Controller()
class FormController {
  @Route('/form')
  form(ctx: Context) {
    return json({ token: ctx.state.csrfToken });
  }

  @Route('/submit', { methods: ['post', 'put', 'patch', 'delete', 'head', 'options'] })
  submit(ctx: Context) {
    return json({ method: ctx.method, body: ctx.request.body ?? null }, { status: 200 });
  }

  @Route('/login', { methods: ['post'] })
  async login(ctx: Context) {
    await ctx.state.session.regenerate();
    return json({ token: ctx.state.csrfToken }, { status: 200 });
  }

  @Route('/hooks/stripe', { methods: ['post'] })
  hook() {
    return json({ hooked: true }, { status: 200 });
  }

  @Route('/api/v1/ping', { methods: ['post'] })
  ping() {
    return json({ pong: true }, { status: 200 });
  }

  @Route(403)
  forbidden(_ctx: Context, error: Error) {
    return json({ forbidden: error.message }, { status: 403 });
  }
}

@Controller({ prefix: '/group', middleware: [csrf()] })
class GroupController {
  @Route('/form')
  form(ctx: Context) {
    return json({ token: ctx.state.csrfToken });
  }

  @Route('/submit', { methods: ['post'] })
  submit(ctx: Context) {
    return json({ body: ctx.request.body ?? null }, { status: 200 });
  }
}

@Module({ controllers: [FormController, GroupController] })
class AppModule {}

interface Client {
  app: TestApp;
  /** Fetches with this client's session cookie (set by its first response). */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** The token a GET of `path` hands out. */
  token(path?: string): Promise<string>;
}

async function client(options: CsrfOptions = {}, boot: BootstrapOptions = {}): Promise<Client> {
  const app = await startTestApp(AppModule, { middleware: [csrf(options)], ...boot });
  let cookie: string | undefined;
  const fetch = async (path: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    if (cookie) headers.set('cookie', `session_id=${cookie}`);
    const res = await plainFetch(app, path, { ...init, headers });
    // As a browser: a new cookie replaces the old one (regenerate), an empty one clears it.
    const set = sessionCookie(res);
    if (set) cookie = set.value || undefined;
    return res;
  };
  const token = async (path = '/form') => ((await (await fetch(path)).json()) as { token: string }).token;
  return { app, fetch, token };
}

const form = (fields: Record<string, string>, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...headers },
  body: new URLSearchParams(fields).toString(),
});
const withHeader = (token: string, method = 'POST'): RequestInit => ({ method, headers: { 'x-csrf-token': token, accept: 'application/json' } });

const MISSING = 'CSRF token missing: send it in the x-csrf-token header or the _csrf form field.';
const INVALID = "CSRF token invalid: it does not match this session's token.";
const NO_TOKEN = 'CSRF token invalid: this session has no token (it is new, or it was regenerated at login): load the form again.';

describe('the CSRF token', () => {
  it('is handed to every request on ctx.state.csrfToken: 32 random bytes, base64url', async () => {
    const { token } = await client();

    expect(await token()).toMatch(TOKEN_SHAPE);
  });

  it('stays the same for a session across requests, and differs between sessions', async () => {
    const alice = await client();
    const first = await alice.token();
    expect(await alice.token()).toBe(first);
    const res = await alice.fetch('/submit', withHeader(first));
    expect(res.status).toBe(200);
    expect(await alice.token()).toBe(first);

    const bob = await client();
    expect(await bob.token()).not.toBe(first);
  });
});

describe('csrf() on unsafe requests', () => {
  it('answers 403 to a POST without a token, rendered by the 403 status route', async () => {
    const { fetch, token } = await client();
    await token();

    const res = await fetch('/submit', { method: 'POST', headers: { accept: 'application/json' } });
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ forbidden: MISSING });
  });

  it('lets a POST through with the token in the x-csrf-token header', async () => {
    const { fetch, token } = await client();

    const res = await fetch('/submit', withHeader(await token()));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ method: 'POST', body: {} });
  });

  it('lets an urlencoded form through with the token in the _csrf field, and the route still gets the form', async () => {
    const { fetch, token } = await client();

    const res = await fetch('/submit', form({ title: 'Hello', _csrf: await token() }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ method: 'POST', body: { title: 'Hello', _csrf: expect.stringMatching(TOKEN_SHAPE) } });
  });

  it('answers 403 to a wrong token, in the header or the form', async () => {
    const { fetch, token } = await client();
    const good = await token();
    const wrong = `${good.slice(0, -1)}${good.endsWith('A') ? 'B' : 'A'}`;

    for (const init of [withHeader(wrong), form({ _csrf: wrong }), withHeader('short'), form({ _csrf: `${good}x` })]) {
      const res = await fetch('/submit', init);
      expect(res.status).toBe(403);
      expect(await res.json()).toEqual({ forbidden: INVALID });
    }
  });

  it("refuses another session's token", async () => {
    const alice = await client();
    const bob = await client();
    const bobsToken = await bob.token();
    await alice.token();

    const res = await alice.fetch('/submit', withHeader(bobsToken));
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ forbidden: INVALID });
  });

  it('refuses a token sent without its session, and starts no session for it', async () => {
    const { app, token } = await client();
    const stolen = await token();

    const res = await plainFetch(app, '/submit', withHeader(stolen));
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ forbidden: NO_TOKEN });
    expect(res.headers.getSetCookie()).toEqual([]);
  });

  it('makes a token only for a request that reads it: a GET that renders no form starts no session', async () => {
    const { app } = await client();

    const res = await plainFetch(app, '/submit', { method: 'OPTIONS' });
    expect(res.status).toBe(200);
    expect(res.headers.getSetCookie()).toEqual([]);
  });

  it('rotates the token when the session is regenerated (login): the old one is refused, the new one works', async () => {
    const { fetch, token } = await client();
    const before = await token();

    const login = await fetch('/login', withHeader(before));
    expect(login.status).toBe(200);
    const after = ((await login.json()) as { token: string }).token;
    expect(after).toMatch(TOKEN_SHAPE);
    expect(after).not.toBe(before);
    expect((await fetch('/submit', withHeader(before))).status).toBe(403);
    expect((await fetch('/submit', withHeader(after))).status).toBe(200);
    expect(await token()).toBe(after);
  });

  it('checks PUT, PATCH and DELETE too, and never GET, HEAD or OPTIONS', async () => {
    const { fetch, token } = await client();
    const good = await token();

    for (const method of ['PUT', 'PATCH', 'DELETE']) {
      expect((await fetch('/submit', { method, headers: { accept: 'application/json' } })).status, method).toBe(403);
      expect((await fetch('/submit', withHeader(good, method))).status, method).toBe(200);
    }
    for (const method of ['HEAD', 'OPTIONS']) {
      expect((await fetch('/submit', { method })).status, method).toBe(200);
    }
  });

  it('takes a repeated _csrf field for no token', async () => {
    const { fetch, token } = await client();
    const good = await token();

    const res = await fetch('/submit', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: `_csrf=${good}&_csrf=${good}`,
    });
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ forbidden: MISSING });
  });

  it('does not read the token from a JSON body before routing: JSON clients send the header', async () => {
    const { fetch, token } = await client();

    const res = await fetch('/submit', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ _csrf: await token() }),
    });
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ forbidden: MISSING });
  });

  it('reads a form only up to formLimit when it runs before routing', async () => {
    const { fetch, token } = await client({ formLimit: 100 });

    const res = await fetch('/submit', form({ _csrf: await token(), text: 'x'.repeat(200) }));
    expect(res.status).toBe(413);
  });
});

describe('csrf({ exclude })', () => {
  it('lets excluded paths through without a token: a string covers the path and below, a RegExp tests it', async () => {
    const { fetch, token } = await client({ exclude: ['/hooks', /^\/api\/v\d+\//g] });
    await token();

    expect((await fetch('/hooks/stripe', { method: 'POST' })).status).toBe(200);
    // A global RegExp keeps no state between requests.
    expect((await fetch('/api/v1/ping', { method: 'POST' })).status).toBe(200);
    expect((await fetch('/api/v1/ping', { method: 'POST' })).status).toBe(200);
    expect((await fetch('/submit', { method: 'POST' })).status).toBe(403);
  });

  it('does not take a path that only starts with the same letters', async () => {
    const { fetch, token } = await client({ exclude: ['/sub'] });
    await token();

    expect((await fetch('/submit', { method: 'POST' })).status).toBe(403);
  });
});

describe('csrf() options', () => {
  it('reads the header and the field given', async () => {
    const { fetch, token } = await client({ header: 'x-xsrf', field: 'authenticity_token' });
    const good = await token();

    expect((await fetch('/submit', { method: 'POST', headers: { 'x-xsrf': good } })).status).toBe(200);
    expect((await fetch('/submit', form({ authenticity_token: good }))).status).toBe(200);
    const old = await fetch('/submit', withHeader(good));
    expect(old.status).toBe(403);
    expect(await old.json()).toEqual({ forbidden: 'CSRF token missing: send it in the x-xsrf header or the authenticity_token form field.' });
  });

  it('refuses a bad header, field or excluded path', () => {
    expect(() => csrf({ header: 'x csrf' })).toThrow(
      new ConfigError(`csrf({ header: "x csrf" }): a header name is letters, digits and !#$%&'*+-.^_\`|~ only, e.g. 'x-csrf-token'.`),
    );
    expect(() => csrf({ field: '' })).toThrow(new ConfigError(`csrf({ field: "" }): the form field is a non-empty string, e.g. '_csrf'.`));
    expect(() => csrf({ exclude: ['hooks'] })).toThrow(
      new ConfigError(`csrf({ exclude }): "hooks" is not a path: write paths from the root, e.g. '/hooks', or a RegExp.`),
    );
  });
});

describe('csrf() without sessions', () => {
  it('fails the request with 500 and logs how to turn sessions on', async () => {
    const { app, fetch } = await client({}, { sessions: false });

    const res = await fetch('/form', { headers: { accept: 'application/json' } });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: 'Internal Server Error', status: 500 });
    expect(app.logs.entries).toHaveLength(1);
    expect(app.logs.entries[0]).toMatchObject({ level: 'error', message: 'request failed', fields: { path: '/form', status: 500 } });
    const error = app.logs.entries[0]!.fields.error as Error;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe(
      'csrf() needs sessions, but ctx.state.session is missing: remove bootstrap({ sessions: false }), or run sessionMiddleware() before csrf() if you manage sessions yourself.',
    );
  });
});

describe('csrf() as route group middleware', () => {
  async function groupClient() {
    const app = await startTestApp(AppModule);
    let cookie: string | undefined;
    const fetch = async (path: string, init: RequestInit = {}) => {
      const headers = new Headers(init.headers);
      if (cookie) headers.set('cookie', `session_id=${cookie}`);
      const res = await plainFetch(app, path, { ...init, headers });
      cookie ??= sessionCookie(res)?.value;
      return res;
    };
    const token = async () => ((await (await fetch('/group/form')).json()) as { token: string }).token;
    return { app, fetch, token };
  }

  it('guards only its group', async () => {
    const { fetch, token } = await groupClient();
    await token();

    expect((await fetch('/group/submit', { method: 'POST' })).status).toBe(403);
    expect((await fetch('/submit', { method: 'POST' })).status).toBe(200);
  });

  it('reads the header, the form field and a JSON field, since the body is parsed by then', async () => {
    const { fetch, token } = await groupClient();
    const good = await token();

    expect((await fetch('/group/submit', withHeader(good))).status).toBe(200);
    const formRes = await fetch('/group/submit', form({ _csrf: good, title: 'x' }));
    expect(formRes.status).toBe(200);
    expect(await formRes.json()).toEqual({ body: { _csrf: good, title: 'x' } });
    const jsonRes = await fetch('/group/submit', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ _csrf: good, title: 'y' }),
    });
    expect(jsonRes.status).toBe(200);
    expect((await fetch('/group/submit', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"_csrf":"nope"}' })).status).toBe(
      403,
    );
  });
});
