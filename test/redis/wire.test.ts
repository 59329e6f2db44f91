// encodeWire / decodeWire: what travels on `<prefix>:bus`. Versioned JSON carrying the sender node's
// id; bytes survive as Buffers; anything another program (or another version) published is reported
// with a reason, never thrown on, since it is decoded inside ioredis's socket handler.
import { describe, expect, it } from 'vitest';
import { json, type Envelope } from 'vela';
import { WIRE_VERSION, decodeWire, encodeWire } from '../../src/redis/wire.js';

const message = (payload: unknown): Envelope => ({ type: 'message', message: { channel: 'room', sender: 'n1.1', topic: 'said', payload } });

function roundTrip(envelope: Envelope): Envelope {
  const decoded = decodeWire(encodeWire('n1', envelope));
  if (!decoded.ok) throw new Error(`did not decode: ${decoded.reason}`);
  expect(decoded.node).toBe('n1');
  return decoded.envelope;
}

describe('encodeWire', () => {
  it('writes the wire version, the sending node and the envelope as JSON', () => {
    expect(WIRE_VERSION).toBe(1);
    expect(JSON.parse(encodeWire('q3XkP9aZ', message({ n: 1 })))).toEqual({
      v: 1,
      node: 'q3XkP9aZ',
      e: { type: 'message', message: { channel: 'room', sender: 'n1.1', topic: 'said', payload: { n: 1 } } },
    });
  });

  it("writes the node's running number as seq when given, and reads it back", () => {
    const wire = encodeWire('n1', message(1), 7);
    expect(JSON.parse(wire)).toMatchObject({ v: 1, node: 'n1', seq: 7 });
    expect(decodeWire(wire)).toEqual({ ok: true, node: 'n1', seq: 7, envelope: message(1) });
  });

  it('writes bytes as base64, not as a JSON array of numbers', () => {
    const wire = encodeWire('n1', { type: 'session-send', sessionId: 's', frame: Buffer.from('hi') });
    expect(JSON.parse(wire).e.frame).toEqual({ '$vela:bytes': 'aGk=' });
  });
});

describe('decodeWire', () => {
  it('reads back every kind of envelope', () => {
    const envelopes: Envelope[] = [
      message({ text: 'héllo ✓', n: 1.5, list: [1, null, 'x'], nested: { ok: true } }),
      { type: 'message', message: { channel: 'room', sender: null, topic: 'notice', payload: null } },
      { type: 'session-send', sessionId: 'abc', frame: 'you have mail' },
      { type: 'session-info', sessionId: 'abc', message: { kind: 'mention', by: 'ada' } },
      { type: 'send-all', frame: 'deploy at 5', exceptSession: 'abc' },
      { type: 'send-all', frame: 'deploy at 5' },
    ];
    for (const envelope of envelopes) expect(roundTrip(envelope)).toEqual(envelope);
  });

  it('brings a Buffer frame back as a Buffer with the same bytes', () => {
    const bytes = Buffer.from([0, 1, 2, 253, 254, 255]);
    const back = roundTrip({ type: 'session-send', sessionId: 's', frame: bytes }) as Extract<Envelope, { type: 'session-send' }>;
    expect(Buffer.isBuffer(back.frame)).toBe(true);
    expect(back.frame).toEqual(bytes);
  });

  it('brings a Uint8Array back as a Buffer of only its own bytes, even when it views part of a larger buffer', () => {
    const whole = new Uint8Array([9, 9, 1, 2, 3, 9]);
    const view = whole.subarray(2, 5);
    const back = roundTrip({ type: 'send-all', frame: view }) as Extract<Envelope, { type: 'send-all' }>;
    expect(Buffer.isBuffer(back.frame)).toBe(true);
    expect([...(back.frame as Buffer)]).toEqual([1, 2, 3]);
  });

  it('brings bytes nested in a payload back as Buffers, and an empty one too', () => {
    const payload = { file: Buffer.from('png'), parts: [new Uint8Array([7]), 'text'], empty: Buffer.alloc(0) };
    const back = roundTrip(message(payload)) as Extract<Envelope, { type: 'message' }>;
    const got = back.message.payload as typeof payload;
    expect(Buffer.isBuffer(got.file) && Buffer.isBuffer(got.parts[0]) && Buffer.isBuffer(got.empty)).toBe(true);
    expect(got).toEqual({ file: Buffer.from('png'), parts: [Buffer.from([7]), 'text'], empty: Buffer.alloc(0) });
  });

  it('brings a json(value) frame back as one', () => {
    const back = roundTrip({ type: 'session-send', sessionId: 's', frame: json({ a: [1] }) }) as Extract<Envelope, { type: 'session-send' }>;
    expect(back.frame).toEqual(['json', { a: [1] }]);
  });

  it('passes an envelope of a type it does not know (the Hub logs and drops it)', () => {
    expect(decodeWire(JSON.stringify({ v: 1, node: 'n2', e: { type: 'presence-diff', joins: {} } }))).toEqual({
      ok: true,
      node: 'n2',
      envelope: { type: 'presence-diff', joins: {} },
    });
  });

  it('reports, without throwing, what it cannot read', () => {
    const ok = { channel: 'c', sender: null, topic: 't', payload: 1 };
    const cases: [raw: string, reason: string][] = [
      ['garbage', 'not JSON'],
      ['', 'not JSON'],
      ['{"v":1,', 'not JSON'],
      ['null', 'not an object'],
      ['42', 'not an object'],
      ['"a string"', 'not an object'],
      ['{}', 'wire version undefined, this node speaks 1'],
      ['[1,2,3]', 'wire version undefined, this node speaks 1'],
      [JSON.stringify({ v: 2, node: 'n', e: message(1) }), 'wire version 2, this node speaks 1'],
      [JSON.stringify({ v: 1, node: 'n', seq: 0, e: message(1) }), 'seq must be a positive integer, got 0'],
      [JSON.stringify({ v: 1, node: 'n', seq: '3', e: message(1) }), 'seq must be a positive integer, got "3"'],
      [JSON.stringify({ v: '1', node: 'n', e: message(1) }), 'wire version "1", this node speaks 1'],
      [JSON.stringify({ v: 1 }), 'missing node or envelope'],
      [JSON.stringify({ v: 1, node: 7, e: message(1) }), 'missing node or envelope'],
      [JSON.stringify({ v: 1, node: 'n', e: null }), 'missing node or envelope'],
      [JSON.stringify({ v: 1, node: 'n', e: { message: ok } }), 'missing node or envelope'],
      [JSON.stringify({ v: 1, node: 'n', e: { type: 'message' } }), 'malformed message envelope: no message'],
      [JSON.stringify({ v: 1, node: 'n', e: { type: 'message', message: { ...ok, channel: 5 } } }), 'malformed message envelope: channel and topic must be strings'],
      [JSON.stringify({ v: 1, node: 'n', e: { type: 'message', message: { ...ok, sender: 5 } } }), 'malformed message envelope: sender must be a string or null'],
      [JSON.stringify({ v: 1, node: 'n', e: { type: 'session-send', frame: 'x' } }), 'malformed session-send envelope: sessionId must be a string'],
      [
        JSON.stringify({ v: 1, node: 'n', e: { type: 'session-send', sessionId: 's', frame: 42 } }),
        'malformed session-send envelope: frame must be a string, bytes or json(value)',
      ],
      [JSON.stringify({ v: 1, node: 'n', e: { type: 'send-all', frame: { data: 'x' } } }), 'malformed send-all envelope: frame must be a string, bytes or json(value)'],
      [JSON.stringify({ v: 1, node: 'n', e: { type: 'send-all', frame: 'x', exceptSession: 1 } }), 'malformed send-all envelope: exceptSession must be a string'],
      [JSON.stringify({ v: 1, node: 'n', e: { type: 'session-info', message: 1 } }), 'malformed session-info envelope: sessionId must be a string'],
    ];
    for (const [raw, reason] of cases) expect(decodeWire(raw), raw).toEqual({ ok: false, reason });
  });

  it('never throws, whatever the input', () => {
    const valid = encodeWire('n1', message({ bytes: Buffer.from('abc'), list: [1, 2, { deep: 'x' }] }));
    let seed = 7;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 2_000; i += 1) {
      // Truncations, and random bytes written over a valid message.
      const chars = [...valid.slice(0, Math.floor(random() * (valid.length + 1)))];
      for (let j = 0; j < 3; j += 1) chars[Math.floor(random() * chars.length)] = String.fromCharCode(Math.floor(random() * 128));
      const raw = chars.join('');
      expect(() => decodeWire(raw), raw).not.toThrow();
    }
    const odd = ['{"v":1,"node":"n","e":{"type":"message","message":{"channel":"c","topic":"t","sender":null,"payload":{"$vela:bytes":"%%%"}}}}', '{"__proto__":{"v":1}}'];
    for (const raw of odd) expect(() => decodeWire(raw), raw).not.toThrow();
  });
});
