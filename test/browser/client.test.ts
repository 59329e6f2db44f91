// vela/client in headless Chromium, served by the app at /vela/client.js: the page survives its
// server going away and coming back on the same port, delivering what was sent meanwhile, and its
// heartbeat tells a dead link from a live one. Every wait is on an event (a line on the page, a
// message at the server), bounded by timeouts; none sleeps.
//
// The app serves dist/client/index.js, the build: test/support/client-build.ts (vitest's global
// setup) rebuilds it first whenever src/client is newer.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { WebSocketServer, type WebSocket as RawSocket } from 'ws';
import { Controller, Module, OnMessage, Route, WebSocket, reply, status, type Class } from 'vela';
import { browserMissing, launchChromium } from '../support/browser.js';
import { startTestApp, type TestApp } from 'vela/testing';

/** Connects to `?url` (default /record) with `?options`, and writes every socket event as a line. */
const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>vela/client</title>
<ol id="events"></ol>
<script type="module">
  import { connect } from '/vela/client.js';
  const params = new URLSearchParams(location.search);
  const socket = (window.socket = connect(params.get('url') ?? '/record', JSON.parse(params.get('options') ?? '{}')));
  const line = (text) => document.getElementById('events').append(Object.assign(document.createElement('li'), { textContent: text }));
  socket.on('open', () => line('open'));
  socket.on('close', ({ code, reason }) => line(\`close \${code} \${reason}\`.trim()));
  socket.on('reconnect', ({ attempts }) => line(\`reconnect after \${attempts}\`));
  socket.on('message', (data) => line(\`message \${data}\`));
</script>`;

/** What a gateway received, with a wait for the first `count` of it. */
class Inbox {
  readonly texts: string[] = [];
  readonly #waiters: { count: number; resolve: (texts: string[]) => void }[] = [];

  push(text: string): void {
    this.texts.push(text);
    for (const waiter of this.#waiters.filter((w) => this.texts.length >= w.count)) waiter.resolve(this.texts.slice(0, waiter.count));
  }

  until(count: number, timeoutMs = 5000): Promise<string[]> {
    if (this.texts.length >= count) return Promise.resolve(this.texts.slice(0, count));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${count} messages expected within ${timeoutMs} ms, got ${JSON.stringify(this.texts)}`)), timeoutMs);
      this.#waiters.push({ count, resolve: (texts) => (clearTimeout(timer), resolve(texts)) });
    });
  }
}

/** The page at `/`, and a gateway at `/record` that files every text in `inbox` and answers it. */
function recordingApp(inbox: Inbox): Class {
  @Controller()
  class PageController {
    @Route('/')
    page() {
      return status(200, { body: PAGE, headers: { 'Content-Type': 'text/html; charset=utf-8' } });
    }
  }

  @WebSocket('/record')
  class RecordGateway {
    @OnMessage()
    record(text: string) {
      inbox.push(text);
      return reply(`got ${text}`);
    }
  }

  @Module({ controllers: [PageController], gateways: [RecordGateway] })
  class AppModule {}
  return AppModule;
}

describe.skipIf(browserMissing)('vela/client in the browser', () => {
  let browser: Browser;
  const pages: Page[] = [];
  const servers: WebSocketServer[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterEach(async () => {
    await Promise.all(pages.splice(0).map((page) => page.close()));
    for (const server of servers.splice(0)) {
      for (const client of server.clients) client.terminate();
      server.close();
    }
  });
  afterAll(async () => {
    await browser?.close();
  });

  /** Opens the page; `options` are connect()'s (this program has no DOM types to import them with). */
  async function openPage(app: TestApp, options: Record<string, unknown> & { url?: string }, init?: () => void): Promise<Page> {
    const { url, ...connectOptions } = options;
    const page = await browser.newPage();
    pages.push(page);
    page.setDefaultTimeout(5000);
    if (init) await page.addInitScript(init);
    const query = new URLSearchParams({ options: JSON.stringify(connectOptions), ...(url ? { url } : {}) });
    await page.goto(`${app.url}/?${query}`);
    return page;
  }

  const line = (page: Page, text: string) => page.locator('#events li', { hasText: text }).first().waitFor();
  const lines = (page: Page) => page.locator('#events li').allTextContents();
  /** `socket.send(text)` in the page for each text: true when sent at once, false when queued. */
  const send = (page: Page, texts: string[]) =>
    page.evaluate((all) => all.map((text) => (globalThis as unknown as { socket: { send(t: string): boolean } }).socket.send(text)), texts);

  it('reconnects to a server restarted on the same port and delivers what was sent while it was down, in order', async () => {
    const before = new Inbox();
    const app = await startTestApp(recordingApp(before), { client: true });
    // Fast retries for the test; pings throughout, so a missing pong would show as a heartbeat timeout.
    const page = await openPage(app, { reconnect: { initialDelay: 50, maxDelay: 200 }, heartbeat: { interval: 100, timeout: 2000 } });
    await line(page, 'open');
    expect(await send(page, ['hello'])).toEqual([true]);
    await line(page, 'message got hello');

    await app.close();
    await line(page, 'close 1001 server shutting down');
    expect(await send(page, ['one', 'two', 'three'])).toEqual([false, false, false]);
    expect(await page.evaluate('socket.state')).toBe('reconnecting');
    expect(await page.evaluate('socket.queued')).toBe(3);

    const after = new Inbox();
    await startTestApp(recordingApp(after), { client: true, port: app.port });
    await line(page, 'reconnect after');
    expect(await after.until(3)).toEqual(['one', 'two', 'three']);
    await line(page, 'message got three');
    expect(before.texts).toEqual(['hello']);
    expect(await page.evaluate('socket.queued')).toBe(0);

    const events = await lines(page);
    expect(events.slice(0, 3)).toEqual(['open', 'message got hello', 'close 1001 server shutting down']);
    // Attempts refused while the port was closed, then back: open, reconnect, the three answers.
    expect(events.slice(3, -5).every((event) => event === 'close 1006')).toBe(true);
    expect(events.slice(-5)).toEqual(['open', expect.stringMatching(/^reconnect after \d+$/), 'message got one', 'message got two', 'message got three']);
  });

  it('closes a link whose server does not answer vela:ping, with 4000, and reconnects', async () => {
    // A bare ws server: it takes the pings but, not being Vela, never answers them.
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    servers.push(server);
    await once(server, 'listening');
    const connections: RawSocket[] = [];
    const frames: string[] = [];
    server.on('connection', (ws) => {
      connections.push(ws);
      ws.on('message', (data) => frames.push(data.toString()));
    });
    const firstClosed = new Promise<[number, string]>((resolve) =>
      server.once('connection', (ws) => ws.once('close', (code, reason) => resolve([code, reason.toString()]))),
    );

    const app = await startTestApp(recordingApp(new Inbox()), { client: true });
    const page = await openPage(app, {
      url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`,
      heartbeat: { interval: 100, timeout: 300 },
      reconnect: { initialDelay: 50 },
    });

    // The link is alive at the TCP level, so the client's close frame reaches the server.
    expect(await firstClosed).toEqual([4000, 'heartbeat timeout']);
    await line(page, 'reconnect after 1');
    // The second link goes unanswered too and will time out in turn: on a busy machine that may
    // already have happened, so only what led up to the reconnect is checked.
    expect((await lines(page)).slice(0, 4)).toEqual(['open', 'close 4000 heartbeat timeout', 'open', 'reconnect after 1']);
    expect(connections.length).toBeGreaterThanOrEqual(2);
    expect(frames[0]).toBe('vela:ping');
  });

  it("keeps a link whose pings Vela answers, without showing the pongs to 'message'", async () => {
    const app = await startTestApp(recordingApp(new Inbox()), { client: true });
    // Counts pongs under the client, as the browser receives them.
    const countPongs = () => {
      type Listening = { addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void };
      const page = globalThis as unknown as { WebSocket: new (...args: unknown[]) => Listening; pongs: number };
      const Native = page.WebSocket;
      page.pongs = 0;
      page.WebSocket = class extends Native {
        constructor(...args: unknown[]) {
          super(...args);
          this.addEventListener('message', (event) => {
            if (event.data === 'vela:pong') page.pongs += 1;
          });
        }
      };
    };
    const page = await openPage(app, { heartbeat: { interval: 50, timeout: 2000 } }, countPongs);

    await page.waitForFunction('pongs >= 5');
    expect(await lines(page)).toEqual(['open']);
    expect(await page.evaluate('socket.state')).toBe('open');
  });
});
