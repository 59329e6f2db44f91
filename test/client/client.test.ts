// vela/client's logic — queue, backoff, heartbeat, events — in Node against a fake WebSocket the
// test drives by hand, on fake timers: every delay is asserted to the millisecond. The real thing,
// a browser against a real server, is test/browser/client.test.ts.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  HEARTBEAT_PING,
  HEARTBEAT_PONG,
  HEARTBEAT_TIMEOUT_CODE,
  connect,
  type CloseInfo,
  type ConnectOptions,
  type VelaSocket,
} from '../../src/client/index.js';
import * as server from '../../src/ws/frames.js';
import { FakeWebSocket } from './fake-websocket.js';

const sockets = () => FakeWebSocket.instances;
const latest = () => FakeWebSocket.instances.at(-1)!;
const opened: VelaSocket[] = [];

function open(url = '/live', options: ConnectOptions = {}): VelaSocket {
  const socket = connect(url, options);
  opened.push(socket);
  return socket;
}

/** Every event of `socket`, in order, as readable strings. */
function record(socket: VelaSocket): string[] {
  const log: string[] = [];
  socket.on('open', () => log.push('open'));
  socket.on('message', (data) => log.push(`message ${String(data)}`));
  socket.on('close', ({ code, reconnectIn }: CloseInfo) => log.push(`close ${code}${reconnectIn === undefined ? '' : ` retry ${reconnectIn}`}`));
  socket.on('reconnect', ({ attempts }) => log.push(`reconnect after ${attempts}`));
  socket.on('drop', (data) => log.push(`drop ${String(data)}`));
  return log;
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.stubGlobal('WebSocket', FakeWebSocket);
  vi.stubGlobal('location', new URL('https://blog.example/posts/1?tab=2'));
  FakeWebSocket.instances = [];
});

afterEach(() => {
  for (const socket of opened.splice(0)) socket.close();
  vi.useRealTimers();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe('connect', () => {
  it('resolves a path against the page, with ws: for http: and wss: for https:', () => {
    expect(open('/comments').url).toBe('wss://blog.example/comments');
    expect(open('chat?name=Ada').url).toBe('wss://blog.example/posts/chat?name=Ada');
    expect(open('http://127.0.0.1:8080/ws').url).toBe('ws://127.0.0.1:8080/ws');
    expect(open('ws://other.example/ws').url).toBe('ws://other.example/ws');
    vi.stubGlobal('location', new URL('http://localhost:8080/'));
    expect(open('/comments').url).toBe('ws://localhost:8080/comments');
    // Each connection names its client (vela_client), after the app's own query.
    expect(sockets().map((ws) => ws.url.replace(/vela_client=[0-9a-f]{32}$/, 'vela_client=ID'))).toEqual([
      'wss://blog.example/comments?vela_client=ID',
      'wss://blog.example/posts/chat?name=Ada&vela_client=ID',
      'ws://127.0.0.1:8080/ws?vela_client=ID',
      'ws://other.example/ws?vela_client=ID',
      'ws://localhost:8080/comments?vela_client=ID',
    ]);
  });

  it('refuses a URL that is not a WebSocket URL', () => {
    expect(() => connect('ftp://files.example/')).toThrow(
      new SyntaxError("connect('ftp://files.example/'): ftp: is not a WebSocket URL. Use ws:, wss:, http:, https: or a path."),
    );
    vi.stubGlobal('location', undefined);
    expect(() => connect('/comments')).toThrow(
      new SyntaxError("connect('/comments'): not a URL. Pass ws://host/path, wss://host/path, or a path such as '/comments' on a page."),
    );
    expect(sockets()).toEqual([]);
  });

  it('refuses options out of range, naming them', () => {
    expect(() => connect('/live', { reconnect: { jitter: 2 } })).toThrow(
      new RangeError('connect(): reconnect.jitter must be a number from 0 to 1, got 2.'),
    );
    expect(() => connect('/live', { heartbeat: { interval: 0 } })).toThrow(
      new RangeError('connect(): heartbeat.interval must be a number ≥ 1, got 0.'),
    );
    expect(() => connect('/live', { queue: { max: -1 } })).toThrow(new RangeError('connect(): queue.max must be a number ≥ 0, got -1.'));
  });

  it('passes the subprotocols on and reads binary frames as ArrayBuffers', () => {
    open('/live', { protocols: ['v1'] });
    expect(latest().protocols).toEqual(['v1']);
    expect(latest().binaryType).toBe('arraybuffer');
  });

  it('uses the heartbeat frames the server reserves', () => {
    expect(HEARTBEAT_PING).toBe(server.HEARTBEAT_PING);
    expect(HEARTBEAT_PONG).toBe(server.HEARTBEAT_PONG);
  });
});

describe('#send', () => {
  it('queues while connecting, then sends in order once open, after the open listeners', () => {
    const socket = open();
    socket.on('open', () => socket.send('join'));
    expect(socket.state).toBe('connecting');
    expect(socket.send('one')).toBe(false);
    expect(socket.send('two')).toBe(false);
    expect(socket.queued).toBe(2);

    latest().accept();
    expect(socket.state).toBe('open');
    expect(latest().sent).toEqual(['join', 'one', 'two']);
    expect(socket.queued).toBe(0);
    expect(socket.send('three')).toBe(true);
    expect(latest().sent).toEqual(['join', 'one', 'two', 'three']);
  });

  it('keeps at most queue.max messages: the oldest is dropped, counted and reported', () => {
    const socket = open('/live', { queue: { max: 2 } });
    const log = record(socket);
    for (const text of ['a', 'b', 'c', 'd']) socket.send(text);
    expect(log).toEqual(['drop a', 'drop b']);
    expect(socket.dropped).toBe(2);

    latest().accept();
    expect(latest().sent).toEqual(['c', 'd']);
  });

  it('with queue.max 0, drops what it cannot send at once', () => {
    const socket = open('/live', { queue: { max: 0 } });
    const log = record(socket);
    expect(socket.send('lost')).toBe(false);
    expect(log).toEqual(['drop lost']);
    expect(socket.queued).toBe(0);
  });

  it('sends JSON, and { event, data } frames for @OnMessage(event)', () => {
    const socket = open();
    latest().accept();
    socket.sendJson({ text: 'hi' });
    socket.emit('post', { text: 'hi' });
    socket.emit('ping');
    expect(latest().sent).toEqual(['{"text":"hi"}', '{"event":"post","data":{"text":"hi"}}', '{"event":"ping"}']);
  });

  it('throws after close()', () => {
    const socket = open();
    socket.close();
    expect(() => socket.send('late')).toThrow(
      new Error('send() on a closed socket (wss://blog.example/live): close() is final; connect() again for a new socket.'),
    );
  });
});

describe('#on and #onEvent', () => {
  it("delivers every frame to 'message' until unsubscribed", () => {
    const socket = open();
    const seen: unknown[] = [];
    const off = socket.on('message', (data) => seen.push(data));
    latest().accept();
    const bytes = new ArrayBuffer(2);
    latest().push('hello');
    latest().push(bytes);
    off();
    latest().push('unheard');
    expect(seen).toEqual(['hello', bytes]);
  });

  it('hands the data of JSON { event, data } frames to the listeners of that event', () => {
    const socket = open();
    const comments: unknown[] = [];
    const off = socket.onEvent<{ text: string }>('new_comment', (data) => comments.push(data.text));
    const log = record(socket);
    latest().accept();
    latest().push('{"event":"new_comment","data":{"text":"First!"}}');
    latest().push('{"event":"other","data":1}');
    latest().push('{"not":"an event"}');
    latest().push('{broken');
    off();
    latest().push('{"event":"new_comment","data":{"text":"unheard"}}');
    expect(comments).toEqual(['First!']);
    // 'message' listeners get them all, as they came.
    expect(log.filter((line) => line.startsWith('message'))).toHaveLength(5);
  });

  it('reports a throwing listener later, and still calls the others', () => {
    const reported: (() => void)[] = [];
    vi.stubGlobal('queueMicrotask', (task: () => void) => reported.push(task));
    const socket = open();
    const seen: unknown[] = [];
    socket.on('message', () => {
      throw new Error('listener bug');
    });
    socket.on('message', (data) => seen.push(data));
    latest().accept();
    latest().push('hello');
    expect(seen).toEqual(['hello']);
    expect(reported).toHaveLength(1);
    expect(reported[0]).toThrow('listener bug');
  });
});

describe('reconnect', () => {
  const reconnect = { initialDelay: 100, maxDelay: 1000, factor: 2, jitter: 0.5 };

  it('retries a lost link with capped exponential backoff, and starts over once open', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0); // no jitter: the full delay
    const socket = open('/live', { reconnect });
    const log = record(socket);
    latest().accept();
    latest().drop(1001, 'server shutting down', true);
    expect(socket.state).toBe('reconnecting');

    vi.advanceTimersByTime(99);
    expect(sockets()).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(sockets()).toHaveLength(2);
    for (let i = 0; i < 5; i += 1) {
      latest().drop(); // refused: the server is still down
      vi.runOnlyPendingTimers();
    }
    latest().accept();
    latest().drop(1001);

    expect(log).toEqual([
      'open',
      'close 1001 retry 100',
      'close 1006 retry 200',
      'close 1006 retry 400',
      'close 1006 retry 800',
      'close 1006 retry 1000',
      'close 1006 retry 1000',
      'open',
      'reconnect after 6',
      'close 1001 retry 100',
    ]);
  });

  it('draws each delay from (1 - jitter) to 1 times the backoff', () => {
    const random = vi.spyOn(Math, 'random');
    const delays: (number | undefined)[] = [];
    const socket = open('/live', { reconnect });
    socket.on('close', ({ reconnectIn }) => delays.push(reconnectIn));
    for (const draw of [0.999999, 0.5, 0]) {
      random.mockReturnValueOnce(draw);
      latest().drop();
      vi.runOnlyPendingTimers();
    }
    expect(delays).toEqual([50, 150, 400]);
  });

  it('retries a first connection that fails, staying in state connecting', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const socket = open('/live', { reconnect });
    const log = record(socket);
    socket.send('early');
    latest().drop();
    expect(socket.state).toBe('connecting');
    vi.advanceTimersByTime(100);
    latest().accept();
    // The first open is not a reconnect; what was sent meanwhile goes out.
    expect(log).toEqual(['close 1006 retry 100', 'open']);
    expect(latest().sent).toEqual(['early']);
  });

  it('with reconnect: false, makes the first close final', () => {
    const socket = open('/live', { reconnect: false });
    const log = record(socket);
    latest().accept();
    latest().drop(1001);
    vi.runAllTimers();
    expect(socket.state).toBe('closed');
    expect(log).toEqual(['open', 'close 1001']);
    expect(sockets()).toHaveLength(1);
  });

  it('stops for good at close(): no retry, even one already scheduled', () => {
    const socket = open();
    const log = record(socket);
    latest().accept();
    socket.close(4001, 'bye');
    expect(latest().closedWith).toEqual({ code: 4001, reason: 'bye' });
    expect(socket.state).toBe('closed');
    latest().drop(4001, 'bye', true);
    vi.runAllTimers();
    expect(log).toEqual(['open', 'close 4001']);
    expect(sockets()).toHaveLength(1);

    const waiting = open();
    latest().drop();
    waiting.close();
    vi.runAllTimers();
    expect(sockets()).toHaveLength(2);
  });
});

describe('heartbeat', () => {
  const heartbeat = { interval: 1000, timeout: 500 };

  it('closes a link that answers no ping within the timeout with 4000, and reconnects', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const socket = open('/live', { heartbeat });
    const log = record(socket);
    const first = latest();
    first.accept();

    vi.advanceTimersByTime(1000);
    expect(first.sent).toEqual([HEARTBEAT_PING]);
    vi.advanceTimersByTime(499);
    expect(first.closedWith).toBeUndefined();
    vi.advanceTimersByTime(1);
    expect(first.closedWith).toEqual({ code: HEARTBEAT_TIMEOUT_CODE, reason: 'heartbeat timeout' });
    expect(socket.state).toBe('reconnecting');
    expect(log).toEqual(['open', 'close 4000 retry 500']);

    // The abandoned socket is not listened to any more: its late close changes nothing.
    first.drop(1006);
    socket.send('while away');
    vi.advanceTimersByTime(500);
    latest().accept();
    expect(log).toEqual(['open', 'close 4000 retry 500', 'open', 'reconnect after 1']);
    expect(latest().sent).toEqual(['while away']);
    expect(first.sent).toEqual([HEARTBEAT_PING]);
  });

  it('keeps a link whose pongs come back, and never hands a pong to listeners', () => {
    const socket = open('/live', { heartbeat });
    const log = record(socket);
    latest().accept();
    vi.advanceTimersByTime(1000);
    for (let i = 0; i < 5; i += 1) {
      vi.advanceTimersByTime(400);
      latest().push(HEARTBEAT_PONG);
      vi.advanceTimersByTime(600); // the next ping
    }
    vi.advanceTimersByTime(400);
    latest().push(HEARTBEAT_PONG);
    expect(latest().sent).toEqual(Array(6).fill(HEARTBEAT_PING));
    expect(socket.state).toBe('open');
    expect(log).toEqual(['open']);
  });

  it('takes any frame as a sign of life, not only the pong', () => {
    const socket = open('/live', { heartbeat });
    latest().accept();
    vi.advanceTimersByTime(1400);
    latest().push('busy server, pong still on its way');
    vi.advanceTimersByTime(300);
    expect(socket.state).toBe('open');
  });

  it('pings only while open, and not at all with heartbeat: false', () => {
    const socket = open('/live', { heartbeat, reconnect: false });
    vi.advanceTimersByTime(5000);
    expect(latest().sent).toEqual([]);
    latest().accept();
    latest().drop(1001);
    vi.advanceTimersByTime(5000);
    expect(latest().sent).toEqual([]);
    expect(socket.state).toBe('closed');

    open('/live', { heartbeat: false });
    latest().accept();
    vi.advanceTimersByTime(100_000);
    expect(latest().sent).toEqual([]);
  });

  it('defaults to a ping every 25 s and a 10 s timeout', () => {
    open();
    latest().accept();
    vi.advanceTimersByTime(25_000);
    expect(latest().sent).toEqual([HEARTBEAT_PING]);
    vi.advanceTimersByTime(9_999);
    expect(latest().closedWith).toBeUndefined();
    vi.advanceTimersByTime(1);
    expect(latest().closedWith).toEqual({ code: HEARTBEAT_TIMEOUT_CODE, reason: 'heartbeat timeout' });
  });
});
