// Vela behind nginx, as most WebSocket apps are deployed: Debian's nginx runs the configuration
// docs/production.md ships (docs/deploy/nginx.conf) in front of the example blog and of a small app
// of probes, with TLS ending at nginx. Pages, sockets, the forwarded scheme, host and address, idle
// sockets kept open by the heartbeat, and the blog's live comments in Chromium, all through nginx.
import type { IncomingHttpHeaders } from 'node:http';
import { request } from 'node:https';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket as WsClient } from 'ws';
import type { Browser } from 'playwright-core';
import { Controller, Module, OnMessage, Route, WebSocket, json, reply, type Context } from 'vela';
import { startTestApp, type TestApp } from 'vela/testing';
import { AppModule, BLOG_OPTIONS } from '../../example/blog/app.module.js';
import { BLOG_DB_FILE } from '../../example/blog/data/blog-database.js';
import { browserMissing, launchChromium } from '../support/browser.js';
import { commentTexts, livePost, openPost, postFromPage, posted, signIn, watch } from '../browser/blog-pages.js';
import { nginxMissing, startNginx, type Nginx } from './nginx.js';

/** What the app believes about a request that came through nginx. */
@Controller()
class ProbeController {
  @Route('/probe')
  probe(ctx: Context) {
    return json({ protocol: ctx.protocol, secure: ctx.secure, host: ctx.host, ip: ctx.ip });
  }

  @Route('/probe', { methods: ['post'] })
  take(ctx: Context) {
    return json({ length: JSON.stringify(ctx.request.body).length });
  }
}

/** Quiet sockets: one with a fast heartbeat, one with none. */
@WebSocket('/beating', { heartbeat: 200 })
class BeatingGateway {
  @OnMessage()
  echo(text: string) {
    return reply(`Echo: ${text}`);
  }
}

@WebSocket('/silent', { heartbeat: 0 })
class SilentGateway {
  @OnMessage()
  echo(text: string) {
    return reply(`Echo: ${text}`);
  }
}

@Module({ controllers: [ProbeController], gateways: [BeatingGateway, SilentGateway] })
class ProbeModule {}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One HTTPS request to nginx, trusting its self-signed certificate. */
function get(nginx: Nginx, path: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${nginx.url}${path}`, { ca: nginx.ca, headers, method: body === undefined ? 'GET' : 'POST' }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A socket to nginx, once open (rejects with the refusal's status otherwise). */
function openSocket(nginx: Nginx, path: string, headers: Record<string, string> = {}): Promise<WsClient> {
  return new Promise((resolve, reject) => {
    const ws = new WsClient(`wss://127.0.0.1:${nginx.port}${path}`, { ca: nginx.ca, headers });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => reject(new Error(`refused with ${res.statusCode}: ${body}`)));
    });
    ws.once('error', reject);
  });
}

const nextText = (ws: WsClient) => new Promise<string>((resolve) => ws.once('message', (data) => resolve(String(data))));
/** Sends `text` on an open socket, expects the echo gateway's answer, and closes it. */
async function expectEcho(ws: WsClient, text: string): Promise<void> {
  ws.send(text);
  expect(await nextText(ws)).toBe(`Echo: ${text}`);
  ws.close();
}
const closed = (ws: WsClient) => new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));

const started: Array<{ stop(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((nginx) => nginx.stop()));
});

async function behindNginx(app: TestApp, readTimeout?: string): Promise<Nginx> {
  const nginx = await startNginx({ upstreamPort: app.port, readTimeout });
  started.push(nginx);
  return nginx;
}

const startBlog = () => startTestApp(AppModule, { ...BLOG_OPTIONS, providers: [{ provide: BLOG_DB_FILE, useValue: ':memory:' }] });

describe.skipIf(nginxMissing)('behind nginx (docs/deploy/nginx.conf)', () => {
  it("serves the blog's pages and passes its WebSocket through", async () => {
    const app = await startBlog();
    const nginx = await behindNginx(app);

    const page = await get(nginx, '/');
    expect(page.status).toBe(200);
    expect(page.body).toContain('<html');

    await expectEcho(await openSocket(nginx, '/ws'), 'Hello Nova!');
  });

  it('hands the app the scheme, host and address the client used, once app.koa.proxy is true', async () => {
    const app = await startTestApp(ProbeModule);
    const nginx = await behindNginx(app);
    const probe = async () => JSON.parse((await get(nginx, '/probe', { 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'http' })).body);

    // Without it, Koa ignores the forwarded headers: nginx's plain-HTTP request is all it sees.
    expect(await probe()).toEqual({ protocol: 'http', secure: false, host: `127.0.0.1:${nginx.port}`, ip: '127.0.0.1' });

    app.koa.proxy = true;
    // The client's own X-Forwarded-* are replaced by nginx, never believed: the address is nginx's
    // peer (the test, on 127.0.0.1), the scheme the TLS nginx served.
    expect(await probe()).toEqual({ protocol: 'https', secure: true, host: `127.0.0.1:${nginx.port}`, ip: '127.0.0.1' });
  });

  it("marks the blog's session cookie Secure, and takes the page's socket from its own origin, with app.koa.proxy", async () => {
    const app = await startBlog();
    const nginx = await behindNginx(app);
    const origin = { origin: nginx.url };

    const before = await get(nginx, '/api/csrf-token');
    expect(before.headers['set-cookie']?.join('\n')).not.toMatch(/;\s*secure/i);
    // The page is https://127.0.0.1:<port>, but the app thinks it serves http: its socket is refused, saying why.
    await expect(openSocket(nginx, '/ws', origin)).rejects.toThrow(/^refused with 403: .*set app\.koa\.proxy = true/);

    app.koa.proxy = true;
    const after = await get(nginx, '/api/csrf-token');
    expect(after.headers['set-cookie']?.join('\n')).toMatch(/;\s*secure/i);
    await expectEcho(await openSocket(nginx, '/ws', origin), 'same origin');
  });

  it("lets a body over nginx's default 1 MB through to the app, which answers with its own limit", async () => {
    const app = await startTestApp(ProbeModule);
    const nginx = await behindNginx(app);
    const post = (length: number) => get(nginx, '/probe', { 'content-type': 'application/json' }, JSON.stringify({ text: 'x'.repeat(length) }));

    const under = await post(1_000_000);
    expect(under.status).toBe(201);
    // Vela's JSON limit (1 MB) answers, not nginx's client_max_body_size: the client learns what to fix.
    const over = await post(1_500_000);
    expect(over.status).toBe(413);
    expect(over.headers['content-type']).toMatch(/json/);
  });

  it("keeps a quiet socket open past nginx's read timeout while Vela's heartbeat runs, and proves the timeout is real", async () => {
    const app = await startTestApp(ProbeModule);
    // proxy_read_timeout 2s in place of 90s; the heartbeat pings every 200 ms, ten times as often.
    const nginx = await behindNginx(app, '2s');

    // No heartbeat: nothing crosses nginx, which cuts the socket when its read timeout passes.
    const silent = await openSocket(nginx, '/silent');
    const openedAt = Date.now();
    expect(await closed(silent)).toBe(1006);
    expect(Date.now() - openedAt).toBeGreaterThanOrEqual(1_900);

    // Heartbeat: the client sends nothing of its own for two and a half read timeouts, measured at
    // the server's pings as they arrive; the socket is still open and still answers.
    const beating = await openSocket(nginx, '/beating');
    let cut = false;
    beating.once('close', () => (cut = true));
    const quietFrom = Date.now();
    await new Promise<void>((resolve) => {
      const onPing = () => {
        if (Date.now() - quietFrom < 5_000 && !cut) return;
        beating.off('ping', onPing);
        resolve();
      };
      beating.on('ping', onPing);
      beating.once('close', () => resolve());
    });
    expect(cut).toBe(false);
    await expectEcho(beating, 'still here');
  });
});

describe.skipIf(nginxMissing || browserMissing)('the blog in Chromium, through nginx', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('signs Ada in and shows her comment in her tab and in a visitor\'s tab on the post', async () => {
    const app = await startBlog();
    app.koa.proxy = true;
    const nginx = await behindNginx(app);
    // The certificate is self-signed: these browser contexts trust it, as a real one trusts a real one.
    const [ada, visitor] = [await browser.newContext({ ignoreHTTPSErrors: true }), await browser.newContext({ ignoreHTTPSErrors: true })];
    try {
      const adaTab = watch(await ada.newPage());
      await signIn(adaTab, nginx, 'Ada', 'ada-pass', '/posts/1');
      await livePost(adaTab);
      const visitorTab = await openPost(visitor, nginx, 1);
      await postFromPage(adaTab, 'Hello through nginx');
      for (const tab of [adaTab, visitorTab]) {
        await posted(tab, 'Hello through nginx');
        expect(await commentTexts(tab)).toContain('Hello through nginx');
      }
      expect([...adaTab.failures, ...visitorTab.failures]).toEqual([]);
    } finally {
      await Promise.all([ada.close(), visitor.close()]);
    }
  });
});
