// encodingOnce() and encodeFrame(): a broadcast turns the frame every member replies with into bytes
// once, and only for as long as its synchronous delivery loop runs.
import { describe, expect, it } from 'vitest';
import * as ws from 'ws';
import { json } from 'vela';
import { FrameEncoder, wireFrame } from '../../src/ws/frames.js';

/** One hub's encoder, as its broadcasts use it. */
const encoder = new FrameEncoder();
const encodingOnce = <T>(deliver: () => T): T => encoder.encodingOnce(deliver);
const encodeFrame = (frame: unknown) => encoder.encode(frame);

describe('encodingOnce', () => {
  it('gives the same string the identical Buffer for every member', () => {
    const [first, second] = encodingOnce(() => [encodeFrame('hello'), encodeFrame('hello')]);
    expect(first!.binary).toBe(false);
    expect(Buffer.isBuffer(first!.data)).toBe(true);
    expect(first!.data.toString()).toBe('hello');
    expect(second!.data).toBe(first!.data);
  });

  it('frames it once too: every member gets the identical ready-made WebSocket frame', () => {
    const [first, second] = encodingOnce(() => [encodeFrame('hello'), encodeFrame('hello')]);
    expect(first!.wire).toEqual(wireFrame(Buffer.from('hello'), false));
    expect(second!.wire).toBe(first!.wire);
  });

  it('gives the same json(value) the identical Buffer, even through different json() wrappers', () => {
    const value = { text: 'hi', n: [1, 2] };
    const [first, second] = encodingOnce(() => [encodeFrame(json(value)), encodeFrame(json(value))]);
    expect(first!.binary).toBe(false);
    expect(first!.data.toString()).toBe('{"text":"hi","n":[1,2]}');
    expect(second!.data).toBe(first!.data);
  });

  it("gives every member's own { event, data } envelope around the same payload the identical Buffer", () => {
    // What a gateway's @OnInfo does: reply(json({ event: 'new_comment', data: msg.payload })), a new
    // envelope object per member around the one payload object every member shares.
    const payload = Object.freeze({ text: 'hi' });
    const [first, second, other, different] = encodingOnce(() => [
      encodeFrame(json({ event: 'new_comment', data: payload })),
      encodeFrame(json({ event: 'new_comment', data: payload })),
      encodeFrame(json({ event: 'edited', data: payload })),
      encodeFrame(json({ event: 'new_comment', data: { text: 'hi' } })),
    ]);
    expect(first!.data.toString()).toBe('{"event":"new_comment","data":{"text":"hi"}}');
    expect(second!.data).toBe(first!.data);
    expect(other!.data.toString()).toBe('{"event":"edited","data":{"text":"hi"}}');
    expect(different!.data).not.toBe(first!.data);
    expect(different!.data.toString()).toBe(first!.data.toString());
  });

  it('caches by envelope only { event, data } exactly: an envelope with more keys is its own value', () => {
    const payload = { text: 'hi' };
    const [a, b] = encodingOnce(() => [encodeFrame(json({ event: 'x', data: payload, extra: 1 })), encodeFrame(json({ event: 'x', data: payload, extra: 2 }))]);
    expect([a!.data.toString(), b!.data.toString()]).toEqual(['{"event":"x","data":{"text":"hi"},"extra":1}', '{"event":"x","data":{"text":"hi"},"extra":2}']);
  });

  it('encodes different values apart', () => {
    const [a, b, c] = encodingOnce(() => [encodeFrame('a'), encodeFrame('b'), encodeFrame(json({ a: 1 }))]);
    expect([a!.data.toString(), b!.data.toString(), c!.data.toString()]).toEqual(['a', 'b', '{"a":1}']);
  });

  it('encodes a json value mutated between two scopes afresh', () => {
    const value = { count: 1 };
    const before = encodingOnce(() => encodeFrame(json(value)));
    value.count = 2;
    const after = encodingOnce(() => encodeFrame(json(value)));
    expect(after.data).not.toBe(before.data);
    expect(before.data.toString()).toBe('{"count":1}');
    expect(after.data.toString()).toBe('{"count":2}');
  });

  it('nested in another scope shares the outer cache', () => {
    const [outer, inner] = encodingOnce(() => [encodeFrame('x'), encodingOnce(() => encodeFrame('x'))]);
    expect(inner.data).toBe(outer!.data);
  });

  it('returns what the delivery returns, and clears its cache when it throws', () => {
    expect(encodingOnce(() => 7)).toBe(7);
    expect(() =>
      encodingOnce(() => {
        encodeFrame('x');
        throw new Error('delivery failed');
      }),
    ).toThrow('delivery failed');
    expect(encodeFrame('x').data).toBe('x');
  });
});

describe('wireFrame', () => {
  // ws's Sender is not in its type definitions; Sender.frame is what its send() writes.
  const { Sender } = ws as unknown as { Sender: { frame(data: Buffer, options: object): Buffer[] } };
  /** What ws itself writes for `send(payload)` on a server socket without compression. */
  const wsFrame = (payload: Buffer, binary: boolean) =>
    Buffer.concat(Sender.frame(payload, { fin: true, mask: false, opcode: binary ? 2 : 1, readOnly: true, rsv1: false }));

  it.each([0, 125, 126, 65_535, 65_536])('frames a payload of %i bytes as ws does: header, then the payload', (length) => {
    const payload = Buffer.alloc(length, 'x');
    expect(wireFrame(payload, false)).toEqual(wsFrame(payload, false));
    expect(wireFrame(payload, true)).toEqual(wsFrame(payload, true));
  });
});

describe('encodeFrame', () => {
  it('outside encodingOnce caches nothing: strings pass through, json is encoded each time', () => {
    const value = { a: 1 };
    expect(encodeFrame('hello')).toEqual({ data: 'hello', binary: false });
    const first = encodeFrame(json(value));
    const second = encodeFrame(json(value));
    expect(first).toEqual({ data: '{"a":1}', binary: false });
    expect(second).not.toBe(first);
    value.a = 2;
    expect(encodeFrame(json(value)).data).toBe('{"a":2}');
  });

  it('sends bytes as binary frames, as given, inside or outside encodingOnce', () => {
    const bytes = Buffer.from([1, 2, 3]);
    const array = new Uint8Array([4, 5]);
    expect(encodeFrame(bytes)).toEqual({ data: bytes, binary: true });
    expect(encodeFrame(bytes).data).toBe(bytes);
    expect(encodingOnce(() => encodeFrame(array).data)).toBe(array);
  });

  it('json(undefined) is sent as null', () => {
    expect(encodeFrame(json(undefined)).data).toBe('null');
    expect(encodingOnce(() => encodeFrame(json(undefined))).data.toString()).toBe('null');
  });

  it('refuses what is not a frame, naming it', () => {
    expect(() => encodeFrame(42)).toThrow(new TypeError('number 42 is not a frame: send a string, a Buffer or Uint8Array, or json(value).'));
    expect(() => encodeFrame({ a: 1 })).toThrow(new TypeError('an object is not a frame: send a string, a Buffer or Uint8Array, or json(value).'));
    expect(() => encodeFrame(null)).toThrow(new TypeError('null is not a frame: send a string, a Buffer or Uint8Array, or json(value).'));
  });
});
