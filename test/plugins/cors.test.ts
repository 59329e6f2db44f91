// cors(): which origins get a grant, preflights, credentials, grants on error pages, and what
// works globally versus on a route group.
import { describe, expect, it } from 'vitest';
import { ConfigError, Controller, Module, Route, cors, json, type CorsOptions } from 'vela';
import { startTestApp } from 'vela/testing';

const ALLOWED = 'https://app.example.com';
const OTHER = 'https://evil.example.net';

@Controller({ prefix: '/api' })
class ApiController {
  @Route('/items')
  list() {
    return json(['a', 'b']);
  }

  @Route('/items', { methods: ['post'] })
  create() {
    return json({ created: true });
  }

  @Route('/boom')
  boom() {
    throw new Error('kaput');
  }
}

@Controller({ prefix: '/group', middleware: [cors({ origins: [ALLOWED] })] })
class GroupController {
  @Route('/items', { methods: ['get', 'post'] })
  items() {
    return json(['a']);
  }

  @Route('/open', { methods: ['put', 'options'] })
  open() {
    return json({ put: true });
  }
}

@Module({ controllers: [ApiController, GroupController] })
class AppModule {}

const globally = (options: CorsOptions) => startTestApp(AppModule, { middleware: [cors(options)] });

function preflight(origin: string, method = 'PUT', headers?: string): RequestInit {
  return {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': method,
      ...(headers ? { 'access-control-request-headers': headers } : {}),
    },
  };
}

describe('cors({ origins }) on a simple request', () => {
  it('grants an allowed origin its own value, and varies on Origin', async () => {
    const app = await globally({ origins: [ALLOWED, 'http://localhost:5173'] });

    const res = await app.http.fetch('/api/items', { headers: { origin: ALLOWED } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(['a', 'b']);
    expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(res.headers.get('vary')).toBe('Origin');
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    const local = await app.http.fetch('/api/items', { headers: { origin: 'http://localhost:5173' } });
    expect(local.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
  });

  it('gives a disallowed origin no CORS header, and still answers (the browser hides it)', async () => {
    const app = await globally({ origins: [ALLOWED] });

    const res = await app.http.fetch('/api/items', { headers: { origin: OTHER } });
    expect(res.status).toBe(200);
    expect([...res.headers.keys()].filter((name) => name.startsWith('access-control-'))).toEqual([]);
    expect(res.headers.get('vary')).toBe('Origin');
  });

  it('matches origins exactly: another scheme, port or subdomain is another origin', async () => {
    const app = await globally({ origins: [ALLOWED] });

    for (const origin of ['http://app.example.com', 'https://app.example.com:8443', 'https://x.app.example.com', 'null']) {
      const res = await app.http.fetch('/api/items', { headers: { origin } });
      expect(res.headers.get('access-control-allow-origin'), origin).toBeNull();
    }
  });

  it("grants every origin '*' with origins: '*'", async () => {
    const app = await globally({ origins: '*' });

    const res = await app.http.fetch('/api/items', { headers: { origin: OTHER } });
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('sends Access-Control-Allow-Credentials and exposed headers when asked', async () => {
    const app = await globally({ origins: [ALLOWED], credentials: true, exposeHeaders: ['x-correlation-id', 'x-total'] });

    const res = await app.http.fetch('/api/items', { headers: { origin: ALLOWED } });
    expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(res.headers.get('access-control-allow-credentials')).toBe('true');
    expect(res.headers.get('access-control-expose-headers')).toBe('x-correlation-id,x-total');
    const refused = await app.http.fetch('/api/items', { headers: { origin: OTHER } });
    expect(refused.headers.get('access-control-allow-credentials')).toBeNull();
  });
});

describe('cors() on error responses', () => {
  it('keeps the grant on a 500 page, so the page can read the status', async () => {
    const app = await globally({ origins: [ALLOWED], credentials: true });

    const res = await app.http.fetch('/api/boom', { headers: { origin: ALLOWED, accept: 'application/json' } });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: 'Internal Server Error', status: 500 });
    expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(res.headers.get('access-control-allow-credentials')).toBe('true');
    expect(res.headers.get('vary')).toBe('Origin');
  });

  it('keeps it on a 404 and a 405', async () => {
    const app = await globally({ origins: [ALLOWED] });

    const missing = await app.http.fetch('/api/nothing', { headers: { origin: ALLOWED } });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    const wrongMethod = await app.http.fetch('/api/items', { method: 'DELETE', headers: { origin: ALLOWED } });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('access-control-allow-origin')).toBe(ALLOWED);
  });
});

describe('cors() preflight, as global middleware', () => {
  it('answers 204 with the default methods and the requested headers, though no route has OPTIONS', async () => {
    const app = await globally({ origins: [ALLOWED] });

    const res = await app.http.fetch('/api/items', preflight(ALLOWED, 'PUT', 'content-type,x-csrf-token'));
    expect(res.status).toBe(204);
    expect(await res.text()).toBe('');
    expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(res.headers.get('access-control-allow-methods')).toBe('GET,HEAD,PUT,POST,DELETE,PATCH');
    expect(res.headers.get('access-control-allow-headers')).toBe('content-type,x-csrf-token');
    expect(res.headers.get('access-control-max-age')).toBeNull();
  });

  it('answers with the configured methods, headers, max age and credentials', async () => {
    const app = await globally({
      origins: [ALLOWED],
      credentials: true,
      allowMethods: ['GET', 'POST'],
      allowHeaders: ['content-type'],
      maxAge: 600,
    });

    const res = await app.http.fetch('/api/items', preflight(ALLOWED, 'POST', 'content-type,x-other'));
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-methods')).toBe('GET,POST');
    expect(res.headers.get('access-control-allow-headers')).toBe('content-type');
    expect(res.headers.get('access-control-max-age')).toBe('600');
    expect(res.headers.get('access-control-allow-credentials')).toBe('true');
  });

  it('answers a preflight to a path no route has', async () => {
    const app = await globally({ origins: [ALLOWED] });

    const res = await app.http.fetch('/api/unknown', preflight(ALLOWED));
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED);
  });

  it('leaves a disallowed origin’s preflight to the router: no CORS header, so the browser refuses', async () => {
    const app = await globally({ origins: [ALLOWED] });

    const res = await app.http.fetch('/api/items', preflight(OTHER));
    expect(res.status).toBe(200);
    expect(res.headers.get('allow')).toBe('HEAD, GET, POST');
    expect([...res.headers.keys()].filter((name) => name.startsWith('access-control-'))).toEqual([]);
  });

  it('passes a plain OPTIONS (no Access-Control-Request-Method) through to the router', async () => {
    const app = await globally({ origins: [ALLOWED] });

    const res = await app.http.fetch('/api/items', { method: 'OPTIONS', headers: { origin: ALLOWED } });
    expect(res.status).toBe(200);
    expect(res.headers.get('allow')).toBe('HEAD, GET, POST');
    expect(res.headers.get('access-control-allow-methods')).toBeNull();
  });
});

describe('cors() as route group middleware', () => {
  it('grants simple requests on the group’s routes only', async () => {
    const app = await startTestApp(AppModule);

    const grouped = await app.http.fetch('/group/items', { headers: { origin: ALLOWED } });
    expect(grouped.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    const posted = await app.http.fetch('/group/items', { method: 'POST', headers: { origin: ALLOWED } });
    expect(posted.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    const outside = await app.http.fetch('/api/items', { headers: { origin: ALLOWED } });
    expect(outside.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('never sees a preflight to a route without OPTIONS: the router answers it, without a grant', async () => {
    const app = await startTestApp(AppModule);

    const res = await app.http.fetch('/group/items', preflight(ALLOWED, 'POST', 'content-type'));
    expect(res.status).toBe(200);
    expect(res.headers.get('allow')).toBe('HEAD, GET, POST');
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers the preflight of a route that lists options in its methods', async () => {
    const app = await startTestApp(AppModule);

    const res = await app.http.fetch('/group/open', preflight(ALLOWED, 'PUT', 'content-type'));
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(res.headers.get('access-control-allow-methods')).toBe('GET,HEAD,PUT,POST,DELETE,PATCH');
    const put = await app.http.fetch('/group/open', { method: 'PUT', headers: { origin: ALLOWED } });
    expect(put.status).toBe(200);
    expect(put.headers.get('access-control-allow-origin')).toBe(ALLOWED);
  });
});

describe('cors() options', () => {
  it("refuses origins: '*' with credentials", () => {
    expect(() => cors({ origins: '*', credentials: true })).toThrow(
      new ConfigError(
        "cors({ origins: '*', credentials: true }) would let every website make requests with your users' cookies: list the origins instead, e.g. cors({ origins: ['https://app.example.com'], credentials: true }).",
      ),
    );
  });

  it('refuses an origin with a path, a trailing slash, no scheme, or null', () => {
    for (const origin of ['https://app.example.com/', 'https://app.example.com/api', 'app.example.com', 'null']) {
      expect(() => cors({ origins: [origin] })).toThrow(
        new ConfigError(
          `cors({ origins }): origins entry '${origin}' is not an origin: write scheme, host and port only, e.g. 'https://app.example.com' (lower-case, no path, no trailing slash).`,
        ),
      );
    }
  });

  it('refuses origins that are neither a list nor *', () => {
    expect(() => cors({ origins: 'https://app.example.com' as never })).toThrow(
      new ConfigError(
        "cors({ origins }): origins must be a list of origins, e.g. ['https://app.example.com'], or '*' for any, got 'https://app.example.com'.",
      ),
    );
  });
});
