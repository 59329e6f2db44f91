// Validation of HTTP input with any Standard Schema: every behaviour runs once per library (zod,
// valibot, arktype) with the same assertions. The handler gets the outputs (coerced, defaulted,
// transformed), invalid input is a 400 listing every part's issues through the status pages, and a
// schema that throws is a 500 that leaves the app serving.
import { describe, expect, it } from 'vitest';
import { Controller, HttpError, InvalidRequestError, Module, Route, json, type Class, type Context, type Middleware, type RequestIssue, type Valid } from 'vela';
import { startTestApp, type TestApp } from 'vela/testing';
import { ASYNC_LIBRARIES, LIBRARIES, type Library } from './libraries.js';
import { deferred } from '../support/deferred.js';

/** The routes under test, each validating one part (or all of them), built with `lib`'s schemas. */
function usersModule(lib: Library, seen: unknown[] = []): Class {
  // Group middleware runs before validation: it sees the body as the client sent it.
  const record: Middleware = async (ctx, next) => {
    seen.push(structuredClone(ctx.request.body));
    await next();
  };

  @Controller({ prefix: '/api', middleware: [record] })
  class UsersController {
    @Route('/users', { methods: ['post'], body: lib.NewUser })
    create(ctx: Context, { body }: Valid<{ body: typeof lib.NewUser }>) {
      return json({ body, request: ctx.request.body });
    }

    @Route('/users', { query: lib.Paging })
    list(_ctx: Context, { query }: Valid<{ query: typeof lib.Paging }>) {
      return json({ query });
    }

    @Route('/users/:id', { params: lib.UserId })
    show(ctx: Context, { params, query }: Valid<{ params: typeof lib.UserId }>) {
      return json({ params, ctxParams: ctx.params, query });
    }

    @Route('/version', { headers: lib.ApiVersion })
    version(_ctx: Context, { headers }: Valid<{ headers: typeof lib.ApiVersion }>) {
      return json({ version: (headers as Record<string, string>)['x-api-version'] });
    }

    @Route('/users/:id', { methods: ['put'], params: lib.UserId, query: lib.Paging, headers: lib.ApiVersion, body: lib.NewUser })
    update(_ctx: Context, input: Valid) {
      return json(input.body);
    }

    @Route('/explode', { methods: ['post'], body: lib.Exploding })
    explode() {
      return json('never reached');
    }
  }

  @Module({ controllers: [UsersController] })
  class UsersModule {}
  return UsersModule;
}

const where = (issues: RequestIssue[]) => issues.map((issue) => `${issue.in} ${issue.path.join('.')}`);

describe.each(LIBRARIES)('HTTP validation with $name', (lib) => {
  it('hands the body schema output (transformed, defaulted) to the handler and to ctx.request.body; middleware saw the raw body', async () => {
    const seen: unknown[] = [];
    const app = await startTestApp(usersModule(lib, seen));
    const res = await app.http.post('/api/users', { name: 'Ada', email: 'ADA@Example.COM' });
    expect(res.status).toBe(201);
    const valid = { name: 'Ada', email: 'ada@example.com', role: 'user' };
    expect(await res.json()).toEqual({ body: valid, request: valid });
    expect(seen).toEqual([{ name: 'Ada', email: 'ADA@Example.COM' }]);
  });

  it('coerces query strings and fills defaults', async () => {
    const app = await startTestApp(usersModule(lib));
    expect(await (await app.http.get('/api/users?page=3')).json()).toEqual({ query: { page: 3 } });
    expect(await (await app.http.get('/api/users')).json()).toEqual({ query: { page: 1 } });
  });

  it('coerces path parameters, in the input and in ctx.params; a part without schema is what Koa gives', async () => {
    const app = await startTestApp(usersModule(lib));
    expect(await (await app.http.get('/api/users/42?tab=a&tab=b')).json()).toEqual({ params: { id: 42 }, ctxParams: { id: 42 }, query: { tab: ['a', 'b'] } });
  });

  it('validates headers by their lower-case names', async () => {
    const app = await startTestApp(usersModule(lib));
    expect(await (await app.http.get('/api/version', { headers: { 'X-Api-Version': '2' } })).json()).toEqual({ version: '2' });
    const refused = await app.http.get('/api/version', { headers: { 'X-Api-Version': '3' } });
    expect(refused.status).toBe(400);
    expect(where(((await refused.json()) as { issues: RequestIssue[] }).issues)).toEqual(['headers x-api-version']);
  });

  it('answers 400 { error, issues } listing the issues of every part at once, URL first, then headers, then body', async () => {
    const app = await startTestApp(usersModule(lib));
    const res = await app.http.put('/api/users/abc?page=x', { name: '', email: 7 });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const answer = (await res.json()) as { error: string; issues: RequestIssue[] };
    expect(Object.keys(answer)).toEqual(['error', 'issues']);
    expect(answer.error).toBe('invalid request');
    for (const issue of answer.issues) {
      expect(Object.keys(issue)).toEqual(['in', 'path', 'message']);
      expect(issue.message).toEqual(expect.any(String));
      expect(issue.message.length).toBeGreaterThan(0);
    }
    // The libraries order one part's issues differently (arktype sorts keys): compare the body's as a set.
    const listed = where(answer.issues);
    expect(listed.slice(0, 3)).toEqual(['params id', 'query page', 'headers x-api-version']);
    expect(listed.slice(3).sort()).toEqual(['body email', 'body name']);
  });

  it('logs the refusal as a warning naming the route, not as an error', async () => {
    const app = await startTestApp(usersModule(lib));
    expect((await app.http.post('/api/users', { email: 'a@b.c' })).status).toBe(400);
    expect(app.logs.entries.filter((entry) => entry.level === 'error')).toEqual([]);
    const refused = app.logs.entries.find((entry) => entry.message === 'request refused');
    expect(refused?.fields).toMatchObject({ status: 400, controller: 'UsersController.create' });
    expect(refused?.fields.error).toMatch(/^invalid request: body\.name: /);
  });

  it('answers 500 for a schema that throws, logged with the route; the app goes on serving', async () => {
    const app = await startTestApp(usersModule(lib));
    const res = await app.http.post('/api/explode', { text: 'x' });
    expect(res.status).toBe(500);
    expect(await res.text()).not.toContain('secret');
    const failed = app.logs.entries.find((entry) => entry.level === 'error');
    expect(failed).toMatchObject({ message: 'request failed', fields: { status: 500, controller: 'UsersController.explode' } });
    expect((failed!.fields.error as Error).message).toBe(
      'UsersController.explode (@Route body schema) threw instead of returning issues: schema bug: secret detail',
    );
    expect((await app.http.post('/api/users', { name: 'Ada', email: 'a@b.c' })).status).toBe(201);
  });

  it('lets a @Route(400) status route shape the answer from the issues', async () => {
    @Controller({ prefix: '/api' })
    class FormsController {
      @Route('/forms', { methods: ['post'], body: lib.NewUser })
      submit() {
        return json({ saved: true });
      }

      @Route(400)
      invalid(_ctx: Context, error: HttpError) {
        const issues = error instanceof InvalidRequestError ? error.issues : [];
        return json({ problems: issues.map((issue) => issue.path.join('.')).sort() });
      }
    }
    @Module({ controllers: [FormsController] })
    class FormsModule {}
    const app = await startTestApp(FormsModule);

    const res = await app.http.post('/api/forms', { name: '' });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ problems: ['email', 'name'] });
  });
});

describe.each(ASYNC_LIBRARIES)('HTTP validation with $name, async refinements', (lib) => {
  it('awaits the refinement: its issue is a 400, a pass reaches the handler', async () => {
    const checked: string[] = [];
    const taken = async (name: string) => {
      await Promise.resolve();
      checked.push(name);
      return name === 'taken';
    };
    @Controller()
    class NamesController {
      @Route('/names', { methods: ['post'], body: lib.uniqueName!(taken) })
      claim(_ctx: Context, { body }: Valid<{ body: ReturnType<NonNullable<Library['uniqueName']>> }>) {
        return json(body);
      }
    }
    @Module({ controllers: [NamesController] })
    class NamesModule {}
    const app = await startTestApp(NamesModule);

    const refused = await app.http.post('/names', { name: 'taken' });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({ error: 'invalid request', issues: [{ in: 'body', path: ['name'], message: 'name is taken' }] });
    const claimed = await app.http.post('/names', { name: 'free' });
    expect(claimed.status).toBe(201);
    expect(await claimed.json()).toEqual({ name: 'free' });
    // zod's Standard Schema validate tries synchronously first, then runs again async: a refinement may run twice.
    expect([...new Set(checked)]).toEqual(['taken', 'free']);
  });

  it('answers requests in flight independently: a slow refinement holds only its own request', async () => {
    const gate = deferred<boolean>();
    const started = deferred();
    const taken = (name: string) => {
      if (name !== 'slow') return Promise.resolve(false);
      started.resolve();
      return gate.promise;
    };
    @Controller()
    class NamesController {
      @Route('/names', { methods: ['post'], body: lib.uniqueName!(taken) })
      claim(_ctx: Context, { body }: Valid) {
        return json(body);
      }
    }
    @Module({ controllers: [NamesController] })
    class NamesModule {}
    const app: TestApp = await startTestApp(NamesModule);

    const slow = app.http.post('/names', { name: 'slow' });
    await started.promise;
    expect((await app.http.post('/names', { name: 'quick' })).status).toBe(201);
    gate.resolve(true);
    expect((await slow).status).toBe(400);
  });
});

describe('HTTP validation, whatever the library', () => {
  const [zod] = LIBRARIES;

  it('runs after security: a client the route refuses gets 401, never the issues', async () => {
    @Controller({ security: () => false })
    class PrivateController {
      @Route('/private', { methods: ['post'], body: zod!.NewUser })
      create() {
        return json({ ok: true });
      }
    }
    @Module({ controllers: [PrivateController] })
    class PrivateModule {}
    const app = await startTestApp(PrivateModule);

    const res = await app.http.post('/private', { name: '' });
    expect(res.status).toBe(401);
    expect(await res.text()).not.toContain('issues');
  });

  it('answers a browser (Accept: text/html) with an HTML page listing the issues', async () => {
    const app = await startTestApp(usersModule(zod!));
    const res = await app.http.fetch('/api/users', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/html' },
      body: JSON.stringify({ name: '<b>', email: 3 }),
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await res.text();
    expect(html).toContain('<p>invalid request</p>');
    expect(html).toMatch(/<li>body\.email: [^<]+<\/li>/);
  });

  it('validates form bodies as parsed (strings), like JSON ones', async () => {
    const app = await startTestApp(usersModule(zod!));
    const res = await app.http.form('/api/users', { name: 'Ada', email: 'ADA@X.IO', role: 'admin' });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ body: { name: 'Ada', email: 'ada@x.io', role: 'admin' } });
  });
});
