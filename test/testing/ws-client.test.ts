// app.ws: awaited receives with readable timeouts, expectNoMessage, refused upgrades, closes, and
// the session shared with app.http.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, UpgradeRefusedError, type TestApp } from 'vela/testing';
import { AppModule } from './fixture.js';

let app: TestApp;
beforeEach(async () => {
  app = await startTestApp(AppModule);
});
afterEach(() => app.close());

/** The session id inside the jar's signed session cookie (`<id>.<signature>`). */
const sessionIdOfCookie = () => app.http.cookie('session_id')?.split('.')[0];

/** A socket on /echo with its welcome frame read. */
async function echo() {
  const ws = await app.ws('/echo');
  expect(await ws.recv()).toMatch(/^welcome /);
  return ws;
}

describe('app.ws', () => {
  it('sends text, JSON and binary frames and receives what the gateway replies', async () => {
    const ws = await echo();
    ws.sendText('hi');
    expect(await ws.recv()).toBe('Echo: hi');
    ws.sendJson({ a: 1 });
    expect(await ws.recv()).toBe('Echo: {"a":1}');
    ws.sendBinary(Uint8Array.of(1, 2, 3));
    expect(await ws.recv()).toEqual(Buffer.from([3, 2, 1]));
  });

  it("sends {event, data} for @OnMessage('event') and parses JSON replies", async () => {
    const ws = await app.ws('/rooms');
    ws.sendEvent('join', { room: 'kitchen' });
    expect(await ws.recvJson()).toEqual({ joined: 'kitchen' });
  });

  it('queues frames, so none is missed, and keeps them readable after the socket closed', async () => {
    const ws = await echo();
    ws.sendText('a');
    ws.sendText('b');
    ws.sendText('bye');
    await ws.closed; // every frame sent before the close has arrived
    expect([await ws.recv(), await ws.recv()]).toEqual(['Echo: a', 'Echo: b']);
  });

  it('sends the cookies of app.http on the upgrade: the same session', async () => {
    const { session } = (await (await app.http.get('/api/me')).json()) as { session: string };
    const ws = await app.ws('/echo');
    expect(await ws.recv()).toBe(`welcome ${session}`);
  });

  it('keeps the session cookie set by an upgrade for later requests', async () => {
    const ws = await app.ws('/echo');
    const welcome = (await ws.recv()) as string;
    const { session } = (await (await app.http.get('/api/me')).json()) as { session: string };
    expect(welcome).toBe(`welcome ${session}`);
  });

  it('sends the headers it is told; a cookie header given replaces the jar', async () => {
    await app.http.get('/api/me');
    const mine = sessionIdOfCookie();
    const ws = await app.ws('/echo', { headers: { cookie: 'session_id=forged' } });
    expect(await ws.recv()).not.toBe(`welcome ${mine}`);
  });
});

describe('#recv', () => {
  it('fails after its timeout, naming the socket and what it received before', async () => {
    const ws = await echo();
    ws.sendText('a');
    await ws.recv();
    await expect(ws.recv({ timeout: 50 })).rejects.toThrow(
      new Error(`app.ws('/echo'): no message within 50 ms (received 2 before: "welcome ${sessionIdOfCookie()}", "Echo: a")`),
    );
  });

  it('shows the last three frames of a longer history', async () => {
    const ws = await echo();
    for (const text of ['a', 'b', 'c']) {
      ws.sendText(text);
      await ws.recv();
    }
    await expect(ws.recv({ timeout: 20 })).rejects.toThrow(
      new Error(`app.ws('/echo'): no message within 20 ms (received 4 before, the last 3: "Echo: a", "Echo: b", "Echo: c")`),
    );
  });

  it('says so when nothing came at all, with the timeout given to app.ws', async () => {
    const ws = await app.ws('/rooms', { timeout: 200 });
    await expect(ws.recv()).rejects.toThrow(new Error(`app.ws('/rooms'): no message within 200 ms (nothing received before)`));
  });

  it('fails at once when the socket closes while it waits, with the code and reason', async () => {
    const ws = await echo();
    const next = ws.recv({ timeout: 5000 });
    ws.sendText('bye');
    await expect(next).rejects.toThrow(/^app\.ws\('\/echo'\): closed with 4001 "see you" before a message arrived \(received 1 before: "welcome /);
  });

  it('points the failure at the line that awaited it', async () => {
    const ws = await echo();
    const error = (await ws.recv({ timeout: 10 }).catch((e: unknown) => e)) as Error;
    expect(error.stack!.split('\n')[1]).toContain('ws-client.test.ts');
  });
});

describe('#recvJson', () => {
  it('fails on a frame that is not JSON, showing it', async () => {
    const ws = await echo();
    ws.sendText('hi');
    await expect(ws.recvJson()).rejects.toThrow(new Error(`app.ws('/echo'): expected a JSON text frame, got "Echo: hi"`));
  });

  it('fails on a binary frame', async () => {
    const ws = await echo();
    ws.sendBinary(Uint8Array.of(1, 2));
    await expect(ws.recvJson()).rejects.toThrow(new Error(`app.ws('/echo'): expected a JSON text frame, got a binary frame of 2 bytes`));
  });
});

describe('#expectNoMessage', () => {
  it('resolves after the time given when nothing arrives', async () => {
    const ws = await echo();
    const started = Date.now();
    await ws.expectNoMessage(50);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  });

  it('rejects as soon as a frame arrives, naming it', async () => {
    const ws = await echo();
    ws.sendText('later hello');
    await expect(ws.expectNoMessage(2000)).rejects.toThrow(/^app\.ws\('\/echo'\): expected no message for 2000 ms, got "hello" after \d+ ms$/);
  });

  it('rejects when a frame is already waiting unread', async () => {
    const ws = await app.ws('/echo');
    ws.sendText('bye');
    await ws.closed; // the welcome frame, sent before the close, has arrived
    await expect(ws.expectNoMessage(10)).rejects.toThrow(/^app\.ws\('\/echo'\): expected no message, but "welcome \S+" had arrived unread$/);
  });
});

describe('refused upgrades', () => {
  it('reject with the HTTP status and body', async () => {
    const error = await app.ws('/private').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpgradeRefusedError);
    expect(error).toMatchObject({
      message: `app.ws('/private'): upgrade refused with HTTP 401 Unauthorized: {"error":"Unauthorized","status":401}`,
      status: 401,
      body: '{"error":"Unauthorized","status":401}',
    });
  });

  it('name where a redirect points', async () => {
    await expect(app.ws('/members')).rejects.toMatchObject({
      message: expect.stringMatching(/^app\.ws\('\/members'\): upgrade refused with HTTP 302 Found to \/login/),
      status: 302,
    });
  });

  it('name a path no gateway owns', async () => {
    await expect(app.ws('/nowhere')).rejects.toMatchObject({
      message: `app.ws('/nowhere'): upgrade refused with HTTP 404 Not Found: {"error":"Not Found","status":404}`,
      status: 404,
    });
  });
});

describe('#close and #closed', () => {
  it('closes with the code and reason given, and closed settles with them', async () => {
    const ws = await echo();
    expect(await ws.close(4000, 'done')).toEqual({ code: 4000, reason: 'done' });
    expect(await ws.closed).toEqual({ code: 4000, reason: 'done' });
  });

  it('reports a close by the server', async () => {
    const ws = await echo();
    ws.sendText('bye');
    expect(await ws.closed).toEqual({ code: 4001, reason: 'see you' });
    await expect(ws.recv()).rejects.toThrow(/closed with 4001 "see you" before a message arrived/);
  });
});
