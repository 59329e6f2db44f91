// Reliability battery, WebSocket input: what a client can send that no handler should ever see.
// Bad UTF-8 (7), oversized frames (8), protocol violations (9) and malformed frames for JSON event
// handlers (12) close only the offending socket, with the code RFC 6455 gives them, and the server
// keeps nothing of it; malformed upgrades (10) and cross-site origins (11) never become sockets.
// Frames are written byte for byte on bare TCP sockets (test/ws/support.ts): a real client library
// would refuse to send most of them.
import { describe, expect, it } from 'vitest';
import { ConfigError, Controller, Module, OnMessage, Route, WebSocket, json, reply, type Class, type WebSocketOptions } from 'vela';
import { rawExchange } from '../reliability/http-support.js';
import {
  EMPTY_HUB,
  Lifecycle,
  OPCODE,
  RawClient,
  Tracked,
  connectionCount,
  frame,
  serveGateway as serve,
  upgradeRequest,
} from './support.js';
import { startTestApp, type TestApp, type TestSocket } from 'vela/testing';

/**
 * `/echo`: init sends the connection id, text frames come back prefixed, binary frames as their
 * length. Every frame a handler sees is recorded in `seen`.
 */
function echoGateway(life: Lifecycle, seen: unknown[], options: WebSocketOptions = {}): Class {
  @WebSocket('/echo', { heartbeat: 0, ...options })
  class EchoGateway extends Tracked(life) {
    @OnMessage()
    text(text: string) {
      seen.push(text);
      return reply(`echo ${text}`);
    }

    @OnMessage({ binary: true })
    bytes(data: Buffer) {
      seen.push(data);
      return reply(`${data.length} bytes`);
    }
  }
  return EchoGateway;
}

/** A raw client on `path` and its connection id (the first frame, sent by init). */
async function rawWithId(app: TestApp, path = '/echo'): Promise<{ raw: RawClient; id: string }> {
  const raw = await RawClient.open(app, path);
  const first = await raw.next();
  return { raw, id: first.payload.toString() };
}

/** A bystander proves the server still serves its other sockets: a round trip on it. */
async function roundTrip(client: TestSocket, text: string): Promise<void> {
  client.sendText(text);
  expect(await client.recv()).toBe(`echo ${text}`);
}

/**
 * Writes `bytes` on a fresh raw connection and expects the server to answer with a close frame of
 * `code` and cut the TCP connection; its terminate to run once, with 1006 (the server failed the
 * connection and read no close frame back: RFC 6455 §7.1.5); no handler to see anything; and
 * nothing of it to stay: the Connection collected, the Hub and the HTTP server back to `baseline`.
 */
async function expectRefused(setup: Setup, bytes: Buffer | Buffer[], code: number): Promise<void> {
  const { app, hub, life, seen } = setup;
  const before = { seen: seen.length, hub: hub().sizes, sockets: await connectionCount(app.server) };
  const { raw, id } = await rawWithId(app);
  for (const chunk of Array.isArray(bytes) ? bytes : [bytes]) raw.write(chunk);
  expect((await raw.closeFrame()).code).toBe(code);
  await raw.closed;
  expect(await life.terminated(id)).toEqual({ code: 1006, reason: '' });
  await life.gone(id);
  expect(life.terminations.get(id)).toHaveLength(1);
  expect(seen.length).toBe(before.seen);
  expect(hub().sizes).toEqual(before.hub);
  expect(await connectionCount(app.server)).toBe(before.sockets);
}

interface Setup {
  app: TestApp;
  hub: () => { sizes: typeof EMPTY_HUB };
  life: Lifecycle;
  seen: unknown[];
}

/** An echo app with a bystander already connected: what expectRefused needs, and the bystander. */
async function echoSetup(options: WebSocketOptions = {}): Promise<Setup & { bystander: TestSocket }> {
  const life = new Lifecycle();
  const seen: unknown[] = [];
  const { app, hub } = await serve(echoGateway(life, seen, options));
  const bystander = await app.ws('/echo');
  await bystander.recv();
  return { app, hub, life, seen, bystander };
}

/** Text in UTF-8 bytes, split across fragments: [first, ...continuations]. */
function fragments(opcode: number, parts: Buffer[]): Buffer[] {
  return parts.map((part, i) => frame(i === 0 ? opcode : OPCODE.continuation, part, { fin: i === parts.length - 1 }));
}

describe('WebSocket input', () => {
  it('7. invalid UTF-8 in a text frame closes with 1007', async () => {
    const setup = await echoSetup();
    const { app, bystander } = setup;

    const invalid: Record<string, Buffer | Buffer[]> = {
      'bytes that are never UTF-8 (ff fe)': frame(OPCODE.text, Buffer.from([0x68, 0xff, 0xfe])),
      "an overlong '/' (c0 af)": frame(OPCODE.text, Buffer.from([0xc0, 0xaf])),
      'a UTF-16 surrogate (ed a0 80)': frame(OPCODE.text, Buffer.from([0xed, 0xa0, 0x80])),
      'a code point above U+10FFFF (f4 90 80 80)': frame(OPCODE.text, Buffer.from([0xf4, 0x90, 0x80, 0x80])),
      'a sequence cut at the end of the message (e2 82)': frame(OPCODE.text, Buffer.from([0x41, 0xe2, 0x82])),
      'a sequence broken across fragments (c3 | 28)': fragments(OPCODE.text, [Buffer.from([0x63, 0x61, 0x66, 0xc3]), Buffer.from([0x28])]),
    };
    for (const [what, bytes] of Object.entries(invalid)) {
      await expectRefused(setup, bytes, 1007).catch((error: Error) => {
        throw new Error(`${what}: ${error.message}`);
      });
      await roundTrip(bystander, `after ${what}`);
    }

    // The control: the same split, completed, is valid UTF-8 and reaches the handler whole.
    const { raw } = await rawWithId(app);
    for (const part of fragments(OPCODE.text, [Buffer.from([0x63, 0x61, 0x66, 0xc3]), Buffer.from([0xa9])])) raw.write(part);
    expect((await raw.next()).payload.toString()).toBe('echo café');

    const errors = app.logs.entries.filter((entry) => entry.message === 'websocket closed on a protocol error');
    expect(errors.map((entry) => entry.fields.error)).toEqual(Array(6).fill('Invalid WebSocket frame: invalid UTF-8 sequence'));
    expect(app.logs.entries.filter((entry) => entry.level === 'error')).toEqual([]);
  });

  it('8. a frame over maxPayload closes with 1009', async () => {
    const setup = await echoSetup({ maxPayload: 1024 });
    const { app, bystander, seen } = setup;

    // Exactly maxPayload is taken, as text and as binary.
    const { raw } = await rawWithId(app);
    raw.write(frame(OPCODE.text, 'x'.repeat(1024)));
    expect((await raw.next()).payload.toString()).toBe(`echo ${'x'.repeat(1024)}`);
    raw.write(frame(OPCODE.binary, Buffer.alloc(1024)));
    expect((await raw.next()).payload.toString()).toBe('1024 bytes');
    seen.length = 0;

    const oversized: Record<string, Buffer | Buffer[]> = {
      'a text frame of 1,025 bytes': frame(OPCODE.text, 'x'.repeat(1025)),
      'a binary frame of 64 KiB': frame(OPCODE.binary, Buffer.alloc(64 * 1024)),
      'three fragments of 512 bytes (each under the limit)': fragments(OPCODE.binary, [Buffer.alloc(512), Buffer.alloc(512), Buffer.alloc(512)]),
      // Refused from the header alone: the server neither waits for nor allocates a terabyte.
      'a header announcing 2^40 bytes, then nothing': frame(OPCODE.binary, Buffer.alloc(0), { announcedLength: 1n << 40n }),
      'a header announcing 2^53 bytes (past what a JS number holds exactly)': frame(OPCODE.binary, Buffer.alloc(0), { announcedLength: 1n << 53n }),
    };
    for (const [what, bytes] of Object.entries(oversized)) {
      const started = performance.now();
      await expectRefused(setup, bytes, 1009).catch((error: Error) => {
        throw new Error(`${what}: ${error.message}`);
      });
      console.log(`8. ${what}: 1009, connection freed in ${(performance.now() - started).toFixed(1)} ms`);
      await roundTrip(bystander, `after ${what}`);
    }
    expect(app.logs.entries.filter((entry) => entry.message === 'websocket closed on a protocol error').map((entry) => entry.fields.error)).toEqual([
      ...Array(4).fill('Max payload size exceeded'),
      'Unsupported WebSocket frame: payload length > 2^53 - 1',
    ]);
  });

  it('9. protocol violations close with 1002 and free the socket', async () => {
    const setup = await echoSetup();
    const { app, bystander } = setup;
    expect(await connectionCount(app.server)).toBe(1);

    const violations: Record<string, [Buffer | Buffer[], string]> = {
      'an unmasked client frame': [frame(OPCODE.text, 'hi', { masked: false }), 'Invalid WebSocket frame: MASK must be set'],
      'RSV1 set without an extension': [frame(OPCODE.text, 'hi', { rsv: 4 }), 'Invalid WebSocket frame: RSV1 must be clear'],
      'RSV2 and RSV3 set': [frame(OPCODE.text, 'hi', { rsv: 3 }), 'Invalid WebSocket frame: RSV2 and RSV3 must be clear'],
      'the reserved data opcode 0x3': [frame(0x3, 'hi'), 'Invalid WebSocket frame: invalid opcode 3'],
      'the reserved control opcode 0xB': [frame(0xb), 'Invalid WebSocket frame: invalid opcode 11'],
      'a fragmented ping': [frame(OPCODE.ping, 'p', { fin: false }), 'Invalid WebSocket frame: FIN must be set'],
      'a ping of 126 bytes': [frame(OPCODE.ping, Buffer.alloc(126)), 'Invalid WebSocket frame: invalid payload length 126'],
      'a continuation with no message to continue': [frame(OPCODE.continuation, 'x'), 'Invalid WebSocket frame: invalid opcode 0'],
      'a new message inside a fragmented one': [
        [frame(OPCODE.text, 'a', { fin: false }), frame(OPCODE.text, 'b')],
        'Invalid WebSocket frame: invalid opcode 1',
      ],
      'a close frame with code 1005 (reserved)': [frame(OPCODE.close, Buffer.from([0x03, 0xed])), 'Invalid WebSocket frame: invalid status code 1005'],
    };
    for (const [what, [bytes, error]] of Object.entries(violations)) {
      await expectRefused(setup, bytes, 1002).catch((failure: Error) => {
        throw new Error(`${what}: ${failure.message}`);
      });
      expect(app.logs.entries.at(-1)).toEqual({
        level: 'warn',
        message: 'websocket closed on a protocol error',
        fields: { gateway: 'EchoGateway', connection: expect.any(String), error },
      });
      await roundTrip(bystander, `after ${what}`);
      expect(await connectionCount(app.server)).toBe(1);
    }
    expect(setup.life.inits).toHaveLength(1 + Object.keys(violations).length);
    expect(setup.life.terminations.size).toBe(Object.keys(violations).length);
  });

  describe('10. bad upgrade requests', () => {
    it('10. bad upgrade requests answer 400 before security runs and leave no socket', async () => {
      let securityCalls = 0;
      const life = new Lifecycle();
      const seen: unknown[] = [];
      const { app } = await serve(
        echoGateway(life, seen, {
          security: () => {
            securityCalls += 1;
            return true;
          },
        }),
      );
      const cases: Record<string, { headers: Record<string, string>; status: number; message: string; header?: [string, string] }> = {
        'no Sec-WebSocket-Key': { headers: { 'Sec-WebSocket-Key': '' }, status: 400, message: 'Missing or invalid Sec-WebSocket-Key header' },
        'a key that is not base64': { headers: { 'Sec-WebSocket-Key': 'not a key at all!!!!!==' }, status: 400, message: 'Missing or invalid Sec-WebSocket-Key' },
        'a key of 15 bytes': { headers: { 'Sec-WebSocket-Key': Buffer.alloc(15).toString('base64') }, status: 400, message: 'Missing or invalid Sec-WebSocket-Key' },
        'Sec-WebSocket-Version 8': {
          headers: { 'Sec-WebSocket-Version': '8' },
          status: 400,
          message: 'Unsupported Sec-WebSocket-Version',
          header: ['sec-websocket-version', '13'],
        },
        'no Sec-WebSocket-Version': {
          headers: { 'Sec-WebSocket-Version': '' },
          status: 400,
          message: 'Unsupported Sec-WebSocket-Version',
          header: ['sec-websocket-version', '13'],
        },
        'Upgrade: websocket listed with another protocol': { headers: { Upgrade: 'h2c, websocket' }, status: 400, message: 'Invalid Upgrade header' },
      };
      for (const [what, { headers, status, message, header }] of Object.entries(cases)) {
        const res = await rawExchange(app.url, upgradeRequest(app, '/echo', { ...headers, Accept: 'application/json' }), { end: false });
        expect(res.statusLine, what).toBe(`HTTP/1.1 ${status} Bad Request`);
        expect((JSON.parse(res.body) as { error: string }).error, what).toContain(message);
        if (header) expect(res.headers, what).toContainEqual(header);
        expect(res.headers, what).toContainEqual(['connection', 'close']);
      }
      // A POST with an upgrade: 405, as for a plain request to a gateway path.
      const post = await rawExchange(app.url, upgradeRequest(app, '/echo').replace(/^GET/, 'POST'), { end: false });
      expect(post.statusLine).toBe('HTTP/1.1 405 Method Not Allowed');
      expect(post.headers).toContainEqual(['allow', 'GET']);

      // rawExchange resolved on each 'close': the server cut every one of them itself.
      expect(await connectionCount(app.server)).toBe(0);
      expect(securityCalls).toBe(0);
      expect(life.inits).toEqual([]);
      expect(app.logs.entries.filter((entry) => entry.level === 'error')).toEqual([]);
      // The control: the same request with a valid handshake is accepted.
      const good = await RawClient.open(app, '/echo');
      expect((await good.next()).payload.toString()).toBe(life.inits[0]);
      expect(securityCalls).toBe(1);
    });

    it('10. an upgrade to another protocol (curl --http2: Upgrade: h2c) is answered as plain HTTP', async () => {
      @Controller()
      class UsersController {
        @Route('/api/users')
        users() {
          return json([{ id: 1 }]);
        }
      }
      @Module({ controllers: [UsersController], gateways: [echoGateway(new Lifecycle(), [])] })
      class AppModule {}
      const app = await startTestApp(AppModule);
      const h2c = { Connection: 'Upgrade, HTTP2-Settings', Upgrade: 'h2c', 'HTTP2-Settings': 'AAMAAABkAARAAAAAAAIAAAAA', 'Sec-WebSocket-Key': '', 'Sec-WebSocket-Version': '' };

      // The route answers, as it would without the header (before: 404, the upgrade handler knew only gateways).
      const route = await rawExchange(app.url, upgradeRequest(app, '/api/users', h2c), { end: false });
      expect(route.statusLine).toBe('HTTP/1.1 200 OK');
      expect(JSON.parse(route.body)).toEqual([{ id: 1 }]);
      // A gateway path says which upgrade it wants.
      const gateway = await rawExchange(app.url, upgradeRequest(app, '/echo', h2c), { end: false });
      expect(gateway.statusLine).toBe('HTTP/1.1 426 Upgrade Required');
      expect(gateway.headers).toContainEqual(['upgrade', 'websocket']);
      expect(await connectionCount(app.server)).toBe(0);
    });

    it("10. a version 8 handshake cannot slip past origins with Sec-WebSocket-Origin", async () => {
      const life = new Lifecycle();
      const { app } = await serve(echoGateway(life, [], { origins: ['http://good.example'] }));

      // Draft-8 browsers named the header Sec-WebSocket-Origin; checkOrigin reads Origin.
      const res = await rawExchange(
        app.url,
        upgradeRequest(app, '/echo', { 'Sec-WebSocket-Version': '8', 'Sec-WebSocket-Origin': 'http://evil.example' }),
        { end: false },
      );
      expect(res.statusLine).toBe('HTTP/1.1 400 Bad Request');
      expect(life.inits).toEqual([]);
      expect(await connectionCount(app.server)).toBe(0);
    });
  });

  it("11. origins: a cross-site Origin is refused with 403; the gateway's own and listed origins are accepted", async () => {
    let securityCalls = 0;
    const life = new Lifecycle();
    const options = {
      origins: ['http://good.example', 'https://app.good.example:8443'],
      security: () => {
        securityCalls += 1;
        return true;
      },
    };
    const { app } = await serve(echoGateway(life, [], options));
    const own = `http://127.0.0.1:${app.port}`;

    const foreign = [
      'http://evil.example',
      'http://good.example.evil.example',
      'http://evil.example/http://good.example',
      'https://good.example',
      'http://good.example:8080',
      'https://app.good.example',
      'null',
      `http://127.0.0.1:${app.port + 1}`,
      `https://127.0.0.1:${app.port}`,
      'http://good.example, http://evil.example',
    ];
    for (const origin of foreign) {
      const res = await app.wsRefusal('/echo', { headers: { origin, accept: 'application/json' } });
      expect(res.status, origin).toBe(403);
      const body = JSON.parse(res.body) as { error: string; status: number };
      expect(body.status, origin).toBe(403);
      expect(body.error, origin).toContain(`Cross-origin WebSocket refused: Origin '${origin}' is neither this gateway's own origin ('${own}') nor in its origins.`);
    }
    expect(securityCalls).toBe(0);
    expect(life.inits).toEqual([]);

    for (const origin of ['http://good.example', 'https://app.good.example:8443', own]) {
      const client = await app.ws('/echo', { headers: { origin } });
      await client.recv();
      await roundTrip(client, origin);
    }
    // Not a browser (no Origin): let through, as documented.
    const script = await app.ws('/echo');
    await script.recv();
    expect(life.inits).toHaveLength(4);
    expect(await connectionCount(app.server)).toBe(4);

    // origins: [] is same-origin only.
    const strict = await serve(echoGateway(new Lifecycle(), [], { origins: [] }));
    const strictOwn = `http://127.0.0.1:${strict.app.port}`;
    expect((await strict.app.wsRefusal('/echo', { headers: { origin: 'http://good.example' } })).status).toBe(403);
    await (await strict.app.ws('/echo', { headers: { origin: strictOwn } })).recv();
  });

  it('11. origins entries that could never match a browser\'s Origin fail bootstrap with a ConfigError', async () => {
    const fix = "write scheme, host and port only, e.g. 'https://app.example.com' (lower-case, no path, no trailing slash).";
    const cases: [unknown, string][] = [
      [['https://app.example.com/'], `origins entry 'https://app.example.com/' is not an origin: ${fix}`],
      [['https://app.example.com/chat'], `origins entry 'https://app.example.com/chat' is not an origin: ${fix}`],
      [['app.example.com'], `origins entry 'app.example.com' is not an origin: ${fix}`],
      [['HTTPS://App.Example.com'], `origins entry 'HTTPS://App.Example.com' is not an origin: ${fix}`],
      [['https://app.example.com:443'], `origins entry 'https://app.example.com:443' is not an origin: ${fix}`],
      [['*'], "origins lists '*': write origins: '*' (not in a list) to accept every origin, or list origins only."],
      [['null'], `origins entry 'null' is not an origin: ${fix}`],
      [[42], `origins entry 42 is not an origin: ${fix}`],
      ['https://app.example.com', "origins must be a list of origins, e.g. ['https://app.example.com'], or '*' for any, got 'https://app.example.com'."],
    ];
    for (const [origins, message] of cases) {
      const error = await serve(echoGateway(new Lifecycle(), [], { origins: origins as string[] })).then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toBe(`EchoGateway: @WebSocket ${message}`);
    }
  });

  it('12. non-JSON or wrong-shape frames to @OnMessage(event) handlers close that socket with 1007, others keep echoing', async () => {
    const life = new Lifecycle();
    const received: unknown[] = [];
    @WebSocket('/events', { heartbeat: 0 })
    class EventsGateway extends Tracked(life) {
      @OnMessage('echo')
      echo(data: unknown) {
        received.push(data);
        return reply(JSON.stringify({ event: 'echo', data }));
      }
    }
    const { app, hub } = await serve(EventsGateway);
    const bystanders = await Promise.all([app.ws('/events'), app.ws('/events')]);
    for (const bystander of bystanders) await bystander.recv();
    const reason = 'expected JSON {"event": name, "data": value}';

    const bad = ['not json', '[]', '{"event":1}', '{"data":1}', 'null', '"echo"', '42', '{"event":"echo"', '', '{"event":null,"data":1}', '[{"event":"echo"}]'];
    // All at once, each on its own socket, while the bystanders talk.
    const offenders = await Promise.all(bad.map(() => app.ws('/events')));
    const ids = await Promise.all(offenders.map(async (client) => String(await client.recv())));
    offenders.forEach((client, i) => client.sendText(bad[i]!));
    const chatter = bystanders.map(async (bystander, b) => {
      for (let i = 0; i < 20; i += 1) {
        bystander.sendJson({ event: 'echo', data: { b, i } });
        expect(JSON.parse(String(await bystander.recv()))).toEqual({ event: 'echo', data: { b, i } });
      }
    });
    const closes = await Promise.all(offenders.map((client) => client.closed));
    await Promise.all(chatter);

    closes.forEach((closed, i) => expect(closed, bad[i]).toEqual({ code: 1007, reason }));
    for (const id of ids) await life.gone(id);
    expect(received).toHaveLength(40);
    // Only the bystanders are left: their connections, nothing of the others (no cookie, so no sessions).
    expect(hub().sizes).toEqual({ ...EMPTY_HUB, connections: 2 });
    expect(await connectionCount(app.server)).toBe(2);
    // The control: a well-formed frame on a fresh socket is served.
    const fresh = await app.ws('/events');
    await fresh.recv();
    fresh.sendJson({ event: 'echo', data: 'ok' });
    expect(JSON.parse(String(await fresh.recv()))).toEqual({ event: 'echo', data: 'ok' });
  });
});
