// The example blog answers the seeds' routes: this is what `npm start` serves.
import { describe, expect, it } from 'vitest';
import { AppModule } from '../example/blog/app.module.js';
import { start } from './support/start.js';

const form = (fields: Record<string, string>): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields).toString(),
  redirect: 'manual',
});

describe('example/blog', () => {
  it('lists, shows and creates users under /api', async () => {
    const app = await start(AppModule);
    const list = await app.fetch('/api/users');
    expect(list.status).toBe(200);
    expect(await list.json()).toEqual([
      { id: 1, name: 'Ada', email: 'ada@example.com' },
      { id: 2, name: 'Joe', email: 'joe@example.com' },
    ]);

    const created = await app.fetch('/api/users', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Grace', email: 'grace@example.com' }),
    });
    expect(created.status).toBe(201);
    expect(await created.json()).toEqual({ id: 3, name: 'Grace', email: 'grace@example.com' });
    expect(await (await app.fetch('/api/users/3')).json()).toEqual({ id: 3, name: 'Grace', email: 'grace@example.com' });
  });

  it('rejects an invalid user with 422', async () => {
    const app = await start(AppModule);
    const res = await app.fetch('/api/users', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":1}' });
    expect(res.status).toBe(422);
    expect(await res.json()).toEqual({ error: 'name and email are required strings' });
  });

  it("turns ['error', 'not_found'] into a 404 through the module's fallback", async () => {
    const app = await start(AppModule);
    const res = await app.fetch('/api/users/999');
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'not_found' });
  });

  it('answers /heartbeat with 200 and unknown paths with its 404 status route', async () => {
    const app = await start(AppModule);
    expect((await app.fetch('/heartbeat')).status).toBe(200);
    const missing = await app.fetch('/no/such/page');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: 'not found', path: '/no/such/page' });
  });

  it('lets the right credentials through the login-protected group and redirects the wrong ones', async () => {
    const app = await start(AppModule);
    const welcome = await app.fetch('/', form({ username: 'admin', password: 'nova' }));
    expect(welcome.status).toBe(200);
    expect(await welcome.json()).toEqual({ message: 'Welcome, admin!' });

    const refused = await app.fetch('/', form({ username: 'admin', password: 'wrong' }));
    expect(refused.status).toBe(302);
    expect(refused.headers.get('location')).toBe('/login?failed=1');
  });

  it('serves the login form as HTML', async () => {
    const app = await start(AppModule);
    const res = await app.fetch('/login');
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await res.text()).toContain('<form method="post" action="/">');
  });
});
