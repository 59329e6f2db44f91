// @WebSocket({ compression, maxFragments }): permessage-deflate negotiated only when a gateway asks,
// each message compressed on its own by default, the inflated size held to maxPayload (a compression
// bomb closes its own socket with 1009 and nothing else), broadcasts framed once still reaching
// compressed and uncompressed sockets in order, and a message's fragments counted.
import { deflateRawSync, constants as zlib } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Module, OnInfo, OnMessage, PubSub, WebSocket, json, reply, type Class, type Connection, type PubSubMessage, type WebSocketOptions } from 'vela';
import type { TestSocket } from 'vela/testing';
import { bootError } from '../support/boot-error.js';
import { echoGateway } from '../fixtures/gateways.js';
import { OPCODE, RawClient, frame, retainedBytes, serveGateway as serve, socketOf } from './support.js';

const MiB = 1024 * 1024;
/** What the server accepted of the permessage-deflate offer a ws client (like a browser) makes. */
const accepted = (client: TestSocket) => client.response.headers['sec-websocket-extensions'];
const DEFLATE_OFFER = { 'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits' };

/**
 * A message as a permessage-deflate client sends it (RFC 7692 §7.2.1): deflated with a sync flush,
 * the flush's trailing 00 00 ff ff left off, in one frame with RSV1 set.
 */
function deflatedFrame(opcode: number, payload: Buffer): Buffer {
  const deflated = deflateRawSync(payload, { finishFlush: zlib.Z_SYNC_FLUSH });
  return frame(opcode, deflated.subarray(0, deflated.length - 4), { rsv: 4 });
}

function echo(options: WebSocketOptions): Class {
  return echoGateway('/echo', { heartbeat: 0, ...options });
}

describe('compression negotiation', () => {
  it('is off by default: a client that offers permessage-deflate gets no extension', async () => {
    const { app } = await serve(echo({}));
    const client = await app.ws('/echo');

    expect(accepted(client)).toBeUndefined();
    expect(client.raw.extensions).toBe('');
  });

  it('with compression: true, is accepted without context takeover either way', async () => {
    const { app } = await serve(echo({ compression: true }));
    const client = await app.ws('/echo');

    expect(accepted(client)).toBe('permessage-deflate; server_no_context_takeover; client_no_context_takeover');
  });

  it('keeps context takeover when contextTakeover: true, and passes window bits on', async () => {
    const { app } = await serve(echo({ compression: { contextTakeover: true, serverMaxWindowBits: 12, clientMaxWindowBits: 11 } }));
    const client = await app.ws('/echo');

    expect(accepted(client)).toBe('permessage-deflate; client_max_window_bits=11; server_max_window_bits=12');
  });

  it('lets a client that offers nothing connect uncompressed', async () => {
    const { app } = await serve(echo({ compression: true }));
    const raw = await RawClient.open(app, '/echo');

    raw.write(frame(OPCODE.text, 'plain'));
    expect(await raw.next()).toEqual({ opcode: OPCODE.text, payload: Buffer.from('plain') });
  });
});

describe('compressed messages', () => {
  it('round-trip a large compressible message, much smaller on the wire', async () => {
    const { app } = await serve(echo({ compression: true, maxPayload: 4 * MiB }));
    const client = await app.ws('/echo');
    const text = JSON.stringify(Array.from({ length: 40_000 }, (_, i) => ({ id: i, name: `user ${i % 50}`, online: i % 3 === 0 })));
    const tcp = socketOf(client);
    const before = { read: tcp.bytesRead, written: tcp.bytesWritten };

    client.sendText(text);
    expect(await client.recv()).toBe(text);
    // Both ways compressed: JSON this repetitive deflates over ten to one.
    expect(tcp.bytesWritten - before.written).toBeLessThan(text.length / 10);
    expect(tcp.bytesRead - before.read).toBeLessThan(text.length / 10);
  });

  it('sends a message under the threshold uncompressed, and one at it compressed', async () => {
    const { app } = await serve(echo({ compression: { threshold: 100 } }));
    const raw = await RawClient.open(app, '/echo', DEFLATE_OFFER);

    raw.write(frame(OPCODE.text, 'a'.repeat(99)));
    expect(await raw.next()).toEqual({ opcode: OPCODE.text, payload: Buffer.from('a'.repeat(99)) });
    raw.write(deflatedFrame(OPCODE.text, Buffer.from('b'.repeat(100))));
    const compressed = await raw.next();
    expect(compressed.compressed).toBe(true);
    expect(compressed.payload.length).toBeLessThan(100);
  });

  it('takes a message that inflates to exactly maxPayload, and closes with 1009 one byte over', async () => {
    const { app } = await serve(echo({ compression: true, maxPayload: 64 * 1024 }));
    const client = await app.ws('/echo');

    client.sendText('x'.repeat(64 * 1024));
    expect((await client.recv()).length).toBe(64 * 1024);
    client.sendText('x'.repeat(64 * 1024 + 1));
    expect((await client.closed).code).toBe(1009);
  });
});

describe('a compression bomb', () => {
  it('closes its own socket with 1009; the other sockets and the process carry on', async () => {
    const { app } = await serve(echo({ compression: true }));
    const bystander = await app.ws('/echo');
    const attacker = await RawClient.open(app, '/echo', DEFLATE_OFFER);
    // 64 MiB of zeros deflate to ~64 KiB: well under the default 1 MiB maxPayload on the wire.
    const bomb = deflatedFrame(OPCODE.binary, Buffer.alloc(64 * MiB));
    expect(bomb.length).toBeLessThan(MiB / 8);
    const before = retainedBytes();

    attacker.write(bomb);
    expect((await attacker.closeFrame()).code).toBe(1009);
    await attacker.closed;

    bystander.sendText('still here');
    expect(await bystander.recv()).toBe('still here');
    // Inflating stopped at maxPayload: nothing near the 64 MiB was kept.
    expect(retainedBytes() - before).toBeLessThan(8 * MiB);
    expect(app.logs.entries).toContainEqual({
      level: 'warn',
      message: 'websocket closed on a protocol error',
      fields: { gateway: 'EchoGateway', connection: expect.any(String), error: 'Max payload size exceeded' },
    });
  });
});

describe('broadcasts framed once', () => {
  /**
   * `/feed` joins 'feed'; `post` broadcasts its `big` then its `note`. A member relays `big` as a
   * binary frame (never pre-framed: ws frames it, and deflates it on a compressed socket) and every
   * other info as JSON (framed once for all members).
   */
  @WebSocket('/feed', { heartbeat: 0, compression: true })
  class FeedGateway {
    constructor(private readonly pubsub: PubSub) {}

    async init(conn: Connection) {
      await this.pubsub.join('feed');
      return reply(conn.id);
    }

    @OnMessage('post')
    async post(data: { big: string; note: string }) {
      await Promise.all([this.pubsub.broadcast('feed', 'big', data.big), this.pubsub.broadcast('feed', 'note', data.note)]);
    }

    @OnInfo()
    relay(message: PubSubMessage<string>) {
      return message.topic === 'big' ? reply(Buffer.from(message.payload)) : reply(json({ event: message.topic, data: message.payload }));
    }
  }

  it('reach compressed and uncompressed sockets alike, after the frames sent before them', async () => {
    const { app } = await serve(FeedGateway);
    const poster = await app.ws('/feed');
    const compressed = await app.ws('/feed');
    const plain = await RawClient.open(app, '/feed');
    await Promise.all([poster.recv(), compressed.recv(), plain.next()]);
    const big = 'abc'.repeat(100_000);
    const note = 'n'.repeat(2_000);
    const expected = JSON.stringify({ event: 'note', data: note });

    poster.sendEvent('post', { big, note });
    // While ws deflates the binary frame, the note's ready-made frame must wait behind it.
    expect(String(await compressed.recv())).toBe(big);
    expect(await compressed.recv()).toBe(expected);
    expect(await plain.next()).toEqual({ opcode: OPCODE.binary, payload: Buffer.from(big) });
    // The socket without compression got the ready-made frame, byte for byte.
    expect(await plain.next()).toEqual({ opcode: OPCODE.text, payload: Buffer.from(expected) });
  });
});

describe('maxFragments', () => {
  const fragments = (count: number) =>
    Array.from({ length: count }, (_, i) => frame(i === 0 ? OPCODE.text : OPCODE.continuation, 'ab', { fin: i === count - 1 }));

  it('takes a message in maxFragments fragments, and closes with 1008 at one more', async () => {
    const { app } = await serve(echo({ maxFragments: 4 }));
    const raw = await RawClient.open(app, '/echo');

    for (const bytes of fragments(4)) raw.write(bytes);
    expect(await raw.next()).toEqual({ opcode: OPCODE.text, payload: Buffer.from('abababab') });
    for (const bytes of fragments(5)) raw.write(bytes);
    expect((await raw.closeFrame()).code).toBe(1008);
  });

  it("is ws's 16 384 by default", async () => {
    const { app } = await serve(echo({}));
    const raw = await RawClient.open(app, '/echo');

    raw.write(Buffer.concat(fragments(16_384)));
    expect((await raw.next(10_000)).payload.length).toBe(2 * 16_384);
    raw.write(Buffer.concat(fragments(16_385)));
    expect((await raw.closeFrame(10_000)).code).toBe(1008);
  });
});

describe('bootstrap', () => {
  async function optionError(options: WebSocketOptions): Promise<string> {
    @Module({ gateways: [echo(options)] })
    class AppModule {}
    return (await bootError(AppModule)).message;
  }
  const fix = 'write compression: true, or e.g. compression: { threshold: 1024, level: 6 }.';

  it.each([
    [{ compression: 'yes' }, `EchoGateway: @WebSocket compression must be true, false or an object, got 'yes'; ${fix}`],
    [{ compression: { concurrencyLimit: 4 } }, `EchoGateway: @WebSocket compression has no option 'concurrencyLimit'; ${fix}`],
    [{ compression: { level: 10 } }, `EchoGateway: @WebSocket compression .level must be a whole number from 0 to 9, got 10; ${fix}`],
    [{ compression: { memLevel: 0 } }, `EchoGateway: @WebSocket compression .memLevel must be a whole number from 1 to 9, got 0; ${fix}`],
    [{ compression: { serverMaxWindowBits: 8 } }, `EchoGateway: @WebSocket compression .serverMaxWindowBits must be a whole number from 9 to 15, got 8; ${fix}`],
    [{ compression: { clientMaxWindowBits: 16 } }, `EchoGateway: @WebSocket compression .clientMaxWindowBits must be a whole number from 8 to 15, got 16; ${fix}`],
    [{ compression: { threshold: -1 } }, `EchoGateway: @WebSocket compression .threshold must be a whole number ≥ 0, got -1; ${fix}`],
    [{ compression: { contextTakeover: 1 } }, `EchoGateway: @WebSocket compression .contextTakeover must be true or false, got 1; ${fix}`],
    [
      { maxFragments: 0 },
      'EchoGateway: @WebSocket maxFragments must be a whole number ≥ 1, got 0; it is how many frames one message may arrive in (default 16 384), e.g. maxFragments: 65_536.',
    ],
    [
      { maxFragments: 1.5 },
      'EchoGateway: @WebSocket maxFragments must be a whole number ≥ 1, got 1.5; it is how many frames one message may arrive in (default 16 384), e.g. maxFragments: 65_536.',
    ],
  ])('refuses %o', async (options, message) => {
    expect(await optionError(options as WebSocketOptions)).toBe(message);
  });
});
