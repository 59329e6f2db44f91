// startTestApp: overrides, quiet logs kept in app.logs, memory pub/sub, and a close() that takes
// every client the app opened with it.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startTestApp, type TestApp } from 'vela/testing';
import { AppModule, Gate, Greeter } from './fixture.js';

let app: TestApp;
afterEach(() => app?.close());

describe('startTestApp', () => {
  it('serves on a free port of 127.0.0.1', async () => {
    app = await startTestApp(AppModule);
    expect(app.url).toBe(`http://127.0.0.1:${app.port}`);
    expect(app.port).toBeGreaterThan(0);
  });

  it('replaces a provider with { provide, useValue }', async () => {
    app = await startTestApp(AppModule, { providers: [{ provide: Greeter, useValue: { greet: (name: string) => `Hi ${name}` } }] });
    expect(await (await app.http.get('/api/greet/ada')).json()).toEqual({ greeting: 'Hi ada' });
  });

  it('keeps log lines in app.logs and prints nothing', async () => {
    const stdout = vi.spyOn(process.stdout, 'write');
    const stderr = vi.spyOn(process.stderr, 'write');
    try {
      app = await startTestApp(AppModule);
      expect((await app.http.get('/api/boom')).status).toBe(500);
      expect(app.logs.entries).toEqual([
        expect.objectContaining({ level: 'error', message: 'request failed', fields: expect.objectContaining({ method: 'GET', path: '/api/boom' }) }),
      ]);
      expect(stdout).not.toHaveBeenCalled();
      expect(stderr).not.toHaveBeenCalled();
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
    }
  });

  it('writes request lines only when asked, into app.logs', async () => {
    app = await startTestApp(AppModule, { requestLog: true });
    await app.http.get('/api/greet/ada');
    expect(app.logs.entries).toEqual([
      expect.objectContaining({ level: 'info', message: 'request', fields: expect.objectContaining({ path: '/api/greet/ada', status: 200 }) }),
    ]);
  });

  it('runs pub/sub in memory', async () => {
    app = await startTestApp(AppModule);
    const heard: unknown[] = [];
    app.pubsub.subscribe('news', (message) => void heard.push(message.payload));
    await app.pubsub.broadcast('news', 'flash', 'hello');
    expect(heard).toEqual(['hello']);
  });

  it('gives app.client() a cookie jar of its own: a second session', async () => {
    app = await startTestApp(AppModule);
    const other = app.client();
    const mine = (await (await app.http.get('/api/me')).json()) as { session: string };
    const theirs = (await (await other.http.get('/api/me')).json()) as { session: string };
    expect(theirs.session).not.toBe(mine.session);
    const socket = await other.ws('/echo');
    expect(await socket.recv()).toBe(`welcome ${theirs.session}`);
  });
});

describe('#close', () => {
  it('closes the sockets it opened, as the app closes every socket: 1001', async () => {
    app = await startTestApp(AppModule);
    const [a, b] = [await app.ws('/echo'), await app.client().ws('/rooms')];
    await app.close();
    expect(await a.closed).toEqual({ code: 1001, reason: 'server shutting down' });
    expect(await b.closed).toEqual({ code: 1001, reason: 'server shutting down' });
  });

  it('cuts a response the test never read instead of waiting for it', async () => {
    app = await startTestApp(AppModule, { shutdownTimeout: 10_000 });
    const res = await app.http.get('/api/endless');
    expect(res.status).toBe(200);
    const started = Date.now();
    await app.close();
    expect(Date.now() - started).toBeLessThan(5000); // not the 10 s shutdownTimeout
  });

  it('lets a request still waiting for its response finish, as the app does', async () => {
    app = await startTestApp(AppModule);
    const gate = app.get(Gate);
    const pending = app.http.get('/api/slow');
    await gate.reached;
    const closed = app.close();
    gate.open();
    await closed;
    expect(await (await pending).json()).toEqual({ slow: true });
  });

  it('refuses requests and sockets afterwards, saying why', async () => {
    app = await startTestApp(AppModule);
    await app.close();
    await expect(app.http.get('/api/me')).rejects.toThrow("app.http: GET /api/me after app.close()");
    await expect(app.ws('/echo')).rejects.toThrow("app.ws('/echo') after app.close()");
  });

  it('can be called twice', async () => {
    app = await startTestApp(AppModule);
    await Promise.all([app.close(), app.close()]);
  });
});
