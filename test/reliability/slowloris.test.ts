// Case 21, slowloris: clients that open a socket and trickle their headers (plain requests and
// WebSocket upgrades) must be cut by the server's header timeout, while a normal client is still
// served at once. The timeouts are shortened (bootstrap `timeouts`) so the test runs in seconds; with
// Node's defaults (60 s headers, checked every 30 s) the trickling sockets would outlive the test.
import { connect as tcpConnect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ConfigError, Controller, Module, Route, json, type BootstrapOptions } from 'vela';
import { startTestApp, type TestApp } from 'vela/testing';
import { echoGateway } from '../fixtures/gateways.js';

const SLOW_CLIENTS = 500; // half plain GETs, half upgrades
const OPEN_BATCH = 100; // connections opened at once (the listen backlog is 511)
const TRICKLE_MS = 100; // each slow client sends one more header byte this often
// Long enough that the normal client is served while every slow socket is still open even on a
// machine stalled for seconds: nothing below asserts how fast anything was, only what happened first.
const TIMEOUTS = { headers: 3_000, request: 4_000, checkInterval: 100 };
/** Not a speed requirement: a bound so that a server that never cuts them fails with a message, not a hang. */
const GIVE_UP_AFTER_MS = TIMEOUTS.headers + 15_000;

@Controller()
class PingController {
  @Route('/ping')
  ping() {
    return json('pong');
  }
}

const EchoGateway = echoGateway('/echo', { heartbeat: 0 });

@Module({ controllers: [PingController], gateways: [EchoGateway] })
class AppModule {}

interface SlowClient {
  socket: Socket;
  connectedAt: number;
  /** When the server closed it (we never close one before the end of the test). */
  closed: Promise<number>;
  /** What the server wrote before closing: Node answers a header timeout with 408. */
  received: string;
}

/** Opens a socket that sends the start of a request and never finishes its headers. */
function slowClient(port: number, upgrade: boolean): Promise<SlowClient> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(port, '127.0.0.1');
    socket.setNoDelay(true);
    socket.setEncoding('latin1');
    const client: SlowClient = { socket, connectedAt: 0, closed: undefined!, received: '' };
    client.closed = new Promise((closed) => socket.once('close', () => closed(performance.now())));
    socket.on('data', (chunk: string) => (client.received += chunk));
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      // A write racing the server's close ends in EPIPE/ECONNRESET: expected here, and 'close' follows.
      socket.on('error', () => {});
      client.connectedAt = performance.now();
      const head = upgrade
        ? 'GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nX-Slow: '
        : 'GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ';
      socket.write(head);
      resolve(client);
    });
  });
}

async function openSlowClients(app: TestApp): Promise<SlowClient[]> {
  const clients: SlowClient[] = [];
  for (let i = 0; i < SLOW_CLIENTS; i += OPEN_BATCH) {
    const batch = Array.from({ length: Math.min(OPEN_BATCH, SLOW_CLIENTS - i) }, (_, j) => slowClient(app.port, (i + j) % 2 === 1));
    clients.push(...(await Promise.all(batch)));
  }
  return clients;
}

/** One more header byte to every slow socket still open, every TRICKLE_MS (one timer for all). */
function trickle(clients: SlowClient[]): () => void {
  const timer = setInterval(() => {
    for (const { socket } of clients) if (!socket.destroyed && socket.writable) socket.write('a');
  }, TRICKLE_MS);
  return () => clearInterval(timer);
}

/** When each client was closed, or a failure naming how many were still open at `deadline`. */
async function allClosedBy(clients: SlowClient[], deadline: number): Promise<number[]> {
  const giveUp = new AbortController();
  const timeout = delay(Math.max(0, deadline - performance.now()), undefined, { signal: giveUp.signal }).then(() => undefined, () => undefined);
  const closed = await Promise.race([Promise.all(clients.map((c) => c.closed)), timeout]);
  giveUp.abort();
  if (!closed) {
    const open = clients.filter(({ socket }) => !socket.destroyed).length;
    expect.fail(`${open} of ${clients.length} slow sockets still open ${GIVE_UP_AFTER_MS} ms after the last one connected: the header timeout never cut them`);
  }
  return closed;
}

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  const value = await work();
  return { value, ms: performance.now() - t0 };
}

describe('21. slowloris', () => {
  it(`21. slowloris: ${SLOW_CLIENTS} clients trickling headers are cut by the header timeout while a normal client is served`, { timeout: 60_000 }, async () => {
    const app = await startTestApp(AppModule, { timeouts: TIMEOUTS });
    const clients = await openSlowClients(app);
    const stopTrickle = trickle(clients);
    try {
      // A normal client while every slow socket is open and trickling.
      const ws = await app.ws('/echo');
      const wsOpenedAt = performance.now();
      const during = await timed(async () => {
        const res = await app.http.fetch('/ping');
        return { status: res.status, body: await res.json() };
      });
      expect(during.value).toEqual({ status: 200, body: 'pong' });
      const echo = await timed(async () => {
        ws.sendText('hello');
        return ws.recv({ timeout: 10_000 });
      });
      expect(echo.value).toBe('hello');
      const stillOpen = clients.filter(({ socket }) => !socket.destroyed).length;

      // Every slow socket closed by the server (each answered 408), none of them before the header timeout.
      const closedAt = await allClosedBy(clients, Math.max(...clients.map((c) => c.connectedAt)) + GIVE_UP_AFTER_MS);
      const lifetimes = clients.map((c, i) => closedAt[i]! - c.connectedAt);
      const lifetime = { min: Math.min(...lifetimes), max: Math.max(...lifetimes) };
      const answered408 = clients.filter((c) => c.received.startsWith('HTTP/1.1 408 ')).length;
      const answered101 = clients.filter((c) => c.received.startsWith('HTTP/1.1 101 ')).length;
      console.info(
        `21. slowloris: ${clients.length} slow sockets, ${stillOpen} still open when the normal client was served; ` +
          `/ping ${during.ms.toFixed(0)} ms, ws echo ${echo.ms.toFixed(0)} ms; cut after ${lifetime.min.toFixed(0)}–${lifetime.max.toFixed(0)} ms ` +
          `(headers ${TIMEOUTS.headers} ms, check every ${TIMEOUTS.checkInterval} ms); ${answered408} answered 408`,
      );
      expect(clients).toHaveLength(SLOW_CLIENTS);
      // The normal client really was served among them, not after they were gone.
      expect(stillOpen).toBeGreaterThan(SLOW_CLIENTS / 2);
      expect(lifetime.min).toBeGreaterThanOrEqual(TIMEOUTS.headers - 10);
      expect(answered101).toBe(0);
      expect(answered408).toBe(SLOW_CLIENTS);

      // An upgraded socket is no longer a request: it outlives both the header and the request timeout.
      await delay(Math.max(0, wsOpenedAt + TIMEOUTS.request + 2 * TIMEOUTS.checkInterval - performance.now()));
      ws.sendText('still here');
      expect(await ws.recv({ timeout: 10_000 })).toBe('still here');
      const after = await timed(() => app.http.fetch('/ping').then((res) => res.status));
      expect(after.value).toBe(200);
    } finally {
      stopTrickle();
      for (const { socket } of clients) socket.destroy();
    }
  });

  it('21. the server runs with production timeouts by default', async () => {
    const app = await startTestApp(AppModule);
    expect({
      headers: app.server.headersTimeout,
      request: app.server.requestTimeout,
      keepAlive: app.server.keepAliveTimeout,
    }).toEqual({ headers: 10_000, request: 60_000, keepAlive: 5_000 });

    const custom = await startTestApp(AppModule, { timeouts: { headers: 2_000, request: 0, keepAlive: 65_000 } });
    expect([custom.server.headersTimeout, custom.server.requestTimeout, custom.server.keepAliveTimeout]).toEqual([2_000, 0, 65_000]);
  });

  const bad: [string, unknown, string][] = [
    ['a negative headers', { headers: -1 }, 'bootstrap timeouts.headers must be a whole number of milliseconds ≥ 0 (0 turns it off), got -1.'],
    ['a fractional request', { request: 1.5 }, 'bootstrap timeouts.request must be a whole number of milliseconds ≥ 0 (0 turns it off), got 1.5.'],
    ['a string keepAlive', { keepAlive: '5s' }, "bootstrap timeouts.keepAlive must be a whole number of milliseconds ≥ 0 (0 turns it off), got '5s'."],
    ['a zero checkInterval', { checkInterval: 0 }, 'bootstrap timeouts.checkInterval must be a whole number of milliseconds ≥ 1, got 0.'],
    ['an unknown key', { header: 1_000 }, "bootstrap timeouts has no option 'header': use headers, request, keepAlive, checkInterval (milliseconds)."],
    ['a number', 5_000, 'bootstrap timeouts must be an object such as { headers: 10_000 }, got 5000.'],
    [
      'headers longer than request',
      { headers: 20_000, request: 10_000 },
      'bootstrap timeouts.headers (20000 ms) is longer than timeouts.request (10000 ms), which includes the headers: ' +
        'lower headers, raise request, or set request to 0 to turn it off.',
    ],
  ];
  for (const [what, timeouts, message] of bad) {
    it(`21. bootstrap refuses ${what} in timeouts with a ConfigError`, async () => {
      const error: unknown = await startTestApp(AppModule, { timeouts } as BootstrapOptions).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toBe(message);
    });
  }
});
