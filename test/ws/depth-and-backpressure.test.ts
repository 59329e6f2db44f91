// Reliability battery, WebSocket depth and volume: what one client's data does to the others. An
// event frame nested thousands deep, or carrying a __proto__ key, is refused for its sender only
// (32), a reply that cannot be encoded is skipped rather than a reason to close (32), and a burst
// written to a channel reaches a member that reads while one that stalls is cut loose (39).
import { once } from 'node:events';
import { describe, expect, it, onTestFinished } from 'vitest';
import { WebSocket as WsClientSocket } from 'ws';
import {
  Injectable,
  Module,
  OnInfo,
  OnMessage,
  PubSub,
  WebSocket,
  json,
  reply,
  type Class,
  type Connection,
  type PubSubMessage,
  type WebSocketOptions,
} from 'vela';
import { Lifecycle, Tracked, eventually, serveGateway as serve, socketOf } from './support.js';
import { startTestApp, type LogEntry, type TestApp, type TestSocket } from 'vela/testing';
import { deferred } from '../support/deferred.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** `[[[…]]]` nested `depth` deep, built without recursion. */
function nested(depth: number): unknown {
  let value: unknown = [];
  for (let level = 1; level < depth; level += 1) value = [value];
  return value;
}

const cycle: Record<string, unknown> = {};
cycle.self = cycle;
/** What JSON.stringify throws on: a BigInt, a cycle, a value deep enough to overflow the stack. */
const UNENCODABLE: Record<string, unknown> = { bigint: { n: 1n }, cycle, deep: nested(5_000) };

/**
 * A Tracked gateway whose every connection joins `channel`. @Injectable so that TypeScript records
 * the PubSub parameter here, where the gateways built on it find it.
 */
function Member(life: Lifecycle, channel: string) {
  @Injectable()
  class ChannelMember extends Tracked(life) {
    constructor(protected readonly pubsub: PubSub) {
      super();
    }

    override init(conn: Connection) {
      this.pubsub.join(channel);
      return super.init(conn);
    }
  }
  return ChannelMember;
}

/**
 * `/room`: every member joins 'room'; `say` broadcasts its data and every member replies with it
 * (`json(msg.payload)`, as a chat relays); `echo` replies with its data; `bad`, `bad-pair`,
 * `bad-send` and `bad-broadcast` reply, send or broadcast one of UNENCODABLE.
 */
function roomGateway(life: Lifecycle): Class {
  @WebSocket('/room', { heartbeat: 0 })
  class RoomGateway extends Member(life, 'room') {

    @OnMessage('say')
    say(data: unknown) {
      return this.pubsub.broadcast('room', 'say', data);
    }

    @OnMessage('echo')
    echo(data: unknown) {
      return reply(json(data));
    }

    @OnMessage('bad')
    bad(kind: string) {
      return reply(json(UNENCODABLE[kind]));
    }

    @OnMessage('bad-pair')
    badPair(kind: string) {
      return reply('before the bad frame', json(UNENCODABLE[kind]));
    }

    @OnMessage('bad-send')
    badSend(kind: string, conn: Connection) {
      return reply(json({ sent: conn.send(json(UNENCODABLE[kind])) }));
    }

    @OnMessage('bad-broadcast')
    badBroadcast(kind: string) {
      return this.pubsub.broadcast('room', 'say', UNENCODABLE[kind]);
    }

    @OnInfo({ topic: 'say' })
    relay(message: PubSubMessage) {
      return reply(json(message.payload));
    }
  }
  return RoomGateway;
}

/** Three members of '/room': the first (the sender, in the attacks) and two bystanders. */
async function room(app: TestApp): Promise<TestSocket[]> {
  const members: TestSocket[] = [];
  for (let i = 0; i < 3; i += 1) {
    const client = await app.ws('/room');
    await client.recv(); // its connection id, sent by init
    members.push(client);
  }
  await eventually(() => app.pubsub.members('room'), (ids) => ids.length === 3, 'three members');
  return members;
}

describe('WebSocket depth', () => {
  it('32. an event frame nested 4,200 deep closes its sender with 1007, and no one else: the other members get the next broadcast', async () => {
    const life = new Lifecycle();
    const { app } = await serve(roomGateway(life));
    const [sender, ...bystanders] = await room(app);

    sender!.sendText(`{"event":"say","data":${'['.repeat(4_200)}${']'.repeat(4_200)}}`);
    expect(await sender!.closed).toEqual({ code: 1007, reason: 'event JSON is nested deeper than 64 levels' });
    bystanders[0]!.sendJson({ event: 'say', data: 'after the attack' });
    for (const bystander of bystanders) expect(await bystander.recvJson()).toBe('after the attack');
    for (const bystander of bystanders) expect(bystander.raw.readyState).toBe(bystander.raw.OPEN);
    expect(app.logs.entries).toContainEqual({
      level: 'warn',
      message: 'websocket event frame refused',
      fields: { gateway: 'RoomGateway', connection: expect.any(String), reason: 'event JSON is nested deeper than 64 levels', frame: expect.any(String) },
    });
    expect(app.logs.entries.filter((entry) => entry.level === 'error')).toEqual([]);
    console.log(`[case 32] 4,200-deep event frame: sender closed 1007, ${bystanders.length}/${bystanders.length} bystanders open and served`);
  });

  it('32. an event frame with a __proto__ key, at any depth or spelled with escapes, is refused 1007; a constructor key is plain data', async () => {
    const life = new Lifecycle();
    const { app } = await serve(roomGateway(life));
    const frames = [
      '{"event":"echo","data":{"__proto__":{"polluted":true}}}',
      '{"event":"echo","data":[{"a":{"__proto__":{"polluted":true}}}]}',
      '{"event":"echo","data":{"\\u005f_proto__":{"polluted":true}}}',
      '{"__proto__":{"polluted":true},"event":"echo","data":1}',
    ];
    for (const text of frames) {
      const [sender, bystander] = [await app.ws('/room'), await app.ws('/room')];
      await sender.recv();
      await bystander.recv();
      sender.sendText(text);
      expect(await sender.closed).toEqual({ code: 1007, reason: 'event JSON has a __proto__ key: send plain data' });
      bystander.sendJson({ event: 'echo', data: 'still here' });
      expect(await bystander.recvJson()).toBe('still here');
    }
    const client = await app.ws('/room');
    await client.recv();
    client.sendText('{"event":"echo","data":{"constructor":{"prototype":{"polluted":true}}}}');
    expect(await client.recvJson()).toEqual({ constructor: { prototype: { polluted: true } } });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    console.log(`[case 32] ${frames.length}/${frames.length} __proto__ event frames refused 1007; constructor.prototype received as plain data`);
  });

  it('32. event frames get the app’s body.jsonDepth: at the limit taken, one level past it refused', async () => {
    const life = new Lifecycle();
    @Module({ gateways: [roomGateway(life)] })
    class AppModule {}
    const app = await startTestApp(AppModule, { body: { jsonDepth: 8 } });
    const client = await app.ws('/room');
    await client.recv();
    // The envelope is level 1, as a JSON body's top level is.
    client.sendJson({ event: 'echo', data: nested(7) });
    expect(await client.recvJson()).toEqual(nested(7));
    client.sendJson({ event: 'echo', data: nested(8) });
    expect(await client.closed).toEqual({ code: 1007, reason: 'event JSON is nested deeper than 8 levels' });
  });

  it('32. a reply, a send or a broadcast that cannot be encoded (BigInt, cycle, 5,000 deep) is skipped and logged; every socket stays open', async () => {
    const life = new Lifecycle();
    const { app } = await serve(roomGateway(life));
    const members = await room(app);
    const [client] = members;
    let round = 0;
    /** The next frame `client` gets is the echo of a fresh round: nothing came in between. */
    const echoed = async (member: TestSocket) => {
      round += 1;
      member.sendJson({ event: 'echo', data: round });
      expect(await member.recvJson()).toBe(round);
    };

    for (const kind of Object.keys(UNENCODABLE)) {
      client!.sendJson({ event: 'bad', data: kind });
      await echoed(client!);
      client!.sendJson({ event: 'bad-pair', data: kind });
      await echoed(client!);
      client!.sendJson({ event: 'bad-send', data: kind });
      expect(await client!.recvJson()).toEqual({ sent: false });
      // Every member's relay fails to encode the same payload: each skips it, none is closed.
      client!.sendJson({ event: 'bad-broadcast', data: kind });
      client!.sendJson({ event: 'say', data: `after ${kind}` });
      for (const member of members) expect(await member.recvJson()).toBe(`after ${kind}`);
      for (const member of members) await echoed(member);
    }
    for (const member of members) expect(member.raw.readyState).toBe(member.raw.OPEN);
    expect(life.terminations.size).toBe(0);

    const skipped = app.logs.entries.filter((entry) => entry.message === 'websocket frame skipped: it cannot be encoded');
    const kinds = Object.keys(UNENCODABLE).length;
    // Per kind: bad, bad-pair, bad-send, and the relay of each of the 3 members.
    expect(skipped).toHaveLength(kinds * (3 + members.length));
    expect(skipped.every((entry) => entry.level === 'error')).toBe(true);
    expect(new Set(skipped.map((entry) => entry.fields.handler))).toEqual(
      new Set(['RoomGateway.bad', 'RoomGateway.badPair', 'conn.send', 'RoomGateway.relay']),
    );
    expect(skipped[0]!.fields.error).toMatch(/^json\(value\) cannot be encoded as JSON \(Do not know how to serialize a BigInt\): send plain data/);
    expect(app.logs.entries.filter((entry) => entry.message === 'gateway callback failed')).toEqual([]);
    console.log(`[case 32] ${kinds} unencodable values × (reply, reply of two, conn.send, broadcast to 3): ${skipped.length} frames skipped and logged, 0 sockets closed`);
  });
});

/**
 * `/burst`: every member joins 'burst'; a `burst` frame makes the handler broadcast BURST messages
 * of CHUNK bytes in one synchronous loop, which every member relays to its client.
 */
const BURST = 200;
const CHUNK = 64 * KiB;
/** Message k of a burst: its number, then filler up to CHUNK bytes. */
const chunk = (k: number) => `${String(k).padStart(8, '0')}|`.padEnd(CHUNK, 'x');

function burstGateway(life: Lifecycle, options: WebSocketOptions): Class {
  @WebSocket('/burst', { heartbeat: 0, ...options })
  class BurstGateway extends Member(life, 'burst') {

    @OnMessage('burst')
    burst() {
      for (let k = 1; k <= BURST; k += 1) this.pubsub.localBroadcast('burst', 'chunk', chunk(k));
    }

    @OnInfo({ topic: 'chunk' })
    relay(message: PubSubMessage<string>) {
      return reply(message.payload);
    }
  }
  return BurstGateway;
}

/**
 * A ws client that reads as fast as it can and keeps nothing: it checks each message of a burst
 * (1…BURST, whole) as it arrives, and `burst()` resolves once all BURST have come.
 */
async function fastReader(app: TestApp): Promise<{ ws: WsClientSocket; id: string; wrong: string[]; burst: () => Promise<number> }> {
  const ws = new WsClientSocket(app.url.replace(/^http/, 'ws') + '/burst', { perMessageDeflate: false });
  onTestFinished(() => {
    if (ws.readyState !== WsClientSocket.CLOSED) ws.terminate();
  });
  // Its connection id, sent by init; once() rejects if the socket fails first.
  const id = String(((await once(ws, 'message')) as [Buffer])[0]);
  const wrong: string[] = [];
  let received = 0;
  let done = deferred<number>();
  ws.on('message', (data: Buffer) => {
    received += 1;
    if (data.length !== CHUNK || data.toString('latin1', 0, 9) !== `${String(received).padStart(8, '0')}|`) {
      wrong.push(`#${received}: ${data.toString('latin1', 0, 9)} (${data.length} bytes)`);
    }
    if (received === BURST) done.resolve(received);
  });
  // Closed: the count so far, short of BURST.
  ws.once('close', () => done.resolve(received));
  return {
    ws,
    id,
    wrong,
    burst: () => {
      received = 0;
      done = deferred<number>();
      ws.send(JSON.stringify({ event: 'burst', data: null }));
      return done.promise;
    },
  };
}

/** The first warning logged with `message`, once it is. */
function warned(app: TestApp, message: string): Promise<LogEntry> {
  const logged = app.logs.entries.find((entry) => entry.message === message);
  if (logged) return Promise.resolve(logged);
  return new Promise((resolve) => {
    const warn = app.logs.warn;
    app.logs.warn = (said, fields) => {
      warn(said, fields);
      if (said !== message) return;
      app.logs.warn = warn;
      resolve(app.logs.entries.at(-1)!);
    };
  });
}

describe('WebSocket slow consumers', () => {
  it('39. a 200 × 64 KiB burst reaches a member reading as fast as it can; a stalled member is closed at bufferedBytesCap, its buffer bounded', async () => {
    const life = new Lifecycle();
    // The default maxBufferedBytes and bufferedBytesCap; drainTimeout out of reach, so that only
    // the cap, a count of bytes, decides here (the next test covers the timer).
    const { app } = await serve(burstGateway(life, { drainTimeout: 3_600_000 }));
    const cap = 16 * MiB;
    const fast = await fastReader(app);
    const stalled = await app.ws('/burst');
    const stalledId = String(await stalled.recv());
    socketOf(stalled).pause();
    await eventually(() => app.pubsub.members('burst'), (ids) => ids.length === 2, 'two members');

    // Burst after burst, each once the fast reader has had all of the last: the kernel buffers take
    // some of what the stalled member is sent (how much depends on the machine), the rest stays in
    // its server buffer, which grows by a burst each time until it passes the cap.
    const slowClosed = () => app.logs.entries.find((entry) => entry.message === 'websocket slow consumer closed');
    let bursts = 0;
    while (!slowClosed() && bursts < 10) {
      expect(await fast.burst()).toBe(BURST);
      bursts += 1;
    }
    expect(fast.wrong).toEqual([]);
    const warning = slowClosed();
    expect(warning).toMatchObject({
      level: 'warn',
      fields: { gateway: 'BurstGateway', connection: stalledId, limit: 'bufferedBytesCap', maxBufferedBytes: MiB, bufferedBytesCap: cap },
    });
    // Closed on the first write past the cap, and written to no more: over it by one message at most.
    const buffered = warning!.fields.bufferedBytes as number;
    expect(buffered).toBeGreaterThan(cap);
    expect(buffered).toBeLessThanOrEqual(cap + CHUNK + 10);
    // The reader is not the one closed, and still gets a whole burst afterwards.
    expect(app.logs.entries.filter((entry) => entry.message === 'websocket slow consumer closed')).toHaveLength(1);
    expect(await fast.burst()).toBe(BURST);
    expect(fast.ws.readyState).toBe(WsClientSocket.OPEN);

    // The stalled member, once it reads again: what it got, then 1008.
    socketOf(stalled).resume();
    let got = 0;
    for (;;) {
      const message = await stalled.recv({ timeout: 5_000 }).catch(() => undefined);
      if (message === undefined) break;
      got += 1;
    }
    expect(await stalled.closed).toEqual({ code: 1008, reason: 'slow consumer' });
    expect(got).toBeLessThan(bursts * BURST);
    console.log(
      `[case 39] ${bursts + 1} bursts of ${BURST} × ${CHUNK / KiB} KiB: the fast reader got ${(bursts + 1) * BURST}/${(bursts + 1) * BURST} in order; ` +
        `the stalled member was closed 1008 during burst ${bursts} with ${(buffered / MiB).toFixed(2)} MiB unsent (cap ${cap / MiB} MiB), had received ${got}`,
    );
  });

  it('39. a stalled member whose buffer stays over maxBufferedBytes for drainTimeout is closed, though under the cap', async () => {
    const life = new Lifecycle();
    const { app } = await serve(burstGateway(life, { maxBufferedBytes: 64 * KiB, drainTimeout: 50, bufferedBytesCap: 64 * MiB }));
    const stalled = await app.ws('/burst');
    const stalledId = String(await stalled.recv());
    socketOf(stalled).pause();
    // 12.5 MiB in one loop: more than the kernel's buffers take, far less than the cap.
    stalled.sendJson({ event: 'burst', data: null });
    const warning = await warned(app, 'websocket slow consumer closed');
    expect(warning).toMatchObject({ level: 'warn', fields: { connection: stalledId, limit: 'drainTimeout', drainTimeout: 50 } });
    expect(warning.fields.bufferedBytes as number).toBeGreaterThan(64 * KiB);
    expect(warning.fields.bufferedBytes as number).toBeLessThan(64 * MiB);
    socketOf(stalled).resume();
    expect(await stalled.closed).toEqual({ code: 1008, reason: 'slow consumer' });
    expect(await life.terminated(stalledId)).toEqual({ code: 1008, reason: 'slow consumer' });
  });
});
