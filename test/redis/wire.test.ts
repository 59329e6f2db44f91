// encodeWire / decodeWire: what travels on `<prefix>:bus`. Versioned JSON carrying the sender node's
// id; bytes survive as Buffers, listed beside the envelope so no payload key is taken for them; anything another program (or another version) published is reported
// with a reason, never thrown on, since it is decoded inside ioredis's socket handler.
import { describe, expect, it } from 'vitest';
import { PubSubEncodingError, json, type Envelope } from 'vela';
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
    expect(WIRE_VERSION).toBe(2);
    expect(JSON.parse(encodeWire('q3XkP9aZ', message({ n: 1 })))).toEqual({
      v: 2,
      node: 'q3XkP9aZ',
      e: { type: 'message', message: { channel: 'room', sender: 'n1.1', topic: 'said', payload: { n: 1 } } },
    });
  });

  it("writes the node's running number as seq when given, and reads it back", () => {
    const wire = encodeWire('n1', message(1), 7);
    expect(JSON.parse(wire)).toMatchObject({ v: 2, node: 'n1', seq: 7 });
    expect(decodeWire(wire)).toEqual({ ok: true, node: 'n1', seq: 7, envelope: message(1) });
  });

  it('writes the publish time as t when given (the metrics\' bus lag), and reads it back; a malformed one is ignored', () => {
    const wire = encodeWire('n1', message(1), 7, 1_733_400_000_123.25);
    expect(JSON.parse(wire)).toMatchObject({ seq: 7, t: 1_733_400_000_123.25 });
    expect(decodeWire(wire)).toEqual({ ok: true, node: 'n1', seq: 7, publishedAt: 1_733_400_000_123.25, envelope: message(1) });
    for (const t of ['soon', -1, null]) {
      expect(decodeWire(JSON.stringify({ v: 2, node: 'n1', t, e: message(1) }))).toEqual({ ok: true, node: 'n1', envelope: message(1) });
    }
  });

  it('writes bytes as base64 strings, not as JSON arrays of numbers, and lists their paths in b', () => {
    const wire = encodeWire('n1', { type: 'session-send', sessionId: 's', frame: Buffer.from('hi') });
    expect(JSON.parse(wire)).toMatchObject({ e: { frame: 'aGk=' }, b: [['frame']] });
    const nested = JSON.parse(encodeWire('n1', message({ list: ['x', new Uint8Array([1])] })));
    expect(nested).toMatchObject({ e: { message: { payload: { list: ['x', 'AQ=='] } } }, b: [['message', 'payload', 'list', 1]] });
  });

  it('writes what JSON.stringify writes: toJSON called, undefined and functions left out (null in arrays), NaN as null', () => {
    const payload = { at: new Date(0), skip: undefined, fn: () => 1, list: [undefined, NaN, () => 1], boxed: new String('s'), n: new Number(2) };
    const e = JSON.parse(encodeWire('n1', message(payload))).e.message.payload;
    expect(e).toEqual(JSON.parse(JSON.stringify(payload)));
    expect(e).toEqual({ at: '1970-01-01T00:00:00.000Z', list: [null, null, null], boxed: 's', n: 2 });
  });

  it('writes an object met twice (not a cycle) twice, and a "__proto__" key as an ordinary key', () => {
    const shared = { id: 1 };
    const parsed = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as object;
    const back = roundTrip(message({ left: shared, right: shared, parsed })) as Extract<Envelope, { type: 'message' }>;
    expect(back.message.payload).toEqual({ left: { id: 1 }, right: { id: 1 }, parsed: JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') });
    expect(Object.hasOwn((back.message.payload as { parsed: object }).parsed, '__proto__')).toBe(true);
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });

  it('refuses what JSON cannot carry with a PubSubEncodingError naming the call, the path, the problem and the fix', () => {
    const cycle: Record<string, unknown> = { items: [] };
    (cycle.items as unknown[]).push({ owner: cycle });
    let deep: unknown = 'bottom';
    for (let i = 0; i < 511; i += 1) deep = [deep];
    const cases: [Envelope, string][] = [
      [
        message({ total: 1n }),
        "pubsub.broadcast('room', 'said', payload): the payload cannot be encoded as JSON for other nodes: payload.total is a BigInt, which JSON has no way to write. Send it as a string (String(n)) or a number. Nothing was delivered.",
      ],
      [
        message(cycle),
        "pubsub.broadcast('room', 'said', payload): the payload cannot be encoded as JSON for other nodes: payload.items[0].owner refers back to an object that contains it (a cycle). JSON has no references: send an id instead of the object itself. Nothing was delivered.",
      ],
      [
        message(deep),
        "pubsub.broadcast('room', 'said', payload): the payload cannot be encoded as JSON for other nodes: payload[0][0][0][0][0][0][0]… nests arrays and objects more than 510 levels deep. Flatten it, or send it in parts. Nothing was delivered.",
      ],
      [
        { type: 'session-info', sessionId: 's', message: { 'odd key': { toJSON: () => { throw new Error('no'); } } } },
        'comms.info(sessionId, message): the message cannot be encoded as JSON for other nodes: message["odd key"] could not be read: a getter or toJSON() of it threw "no". Send plain data. Nothing was delivered.',
      ],
      [
        { type: 'session-info', sessionId: 's', message: { list: [{ get secret() { throw new Error('locked'); } }] } },
        'comms.info(sessionId, message): the message cannot be encoded as JSON for other nodes: message.list[0].secret could not be read: a getter or toJSON() of it threw "locked". Send plain data. Nothing was delivered.',
      ],
      [
        { type: 'send-all', frame: json([2n]) },
        'comms.broadcast(frame): the frame cannot be encoded as JSON for other nodes: frame[1][0] is a BigInt, which JSON has no way to write. Send it as a string (String(n)) or a number. Nothing was delivered.',
      ],
    ];
    for (const [envelope, text] of cases) {
      const error = (() => {
        try {
          encodeWire('n1', envelope);
        } catch (thrown) {
          return thrown;
        }
        return undefined;
      })();
      expect(error).toBeInstanceOf(PubSubEncodingError);
      expect((error as Error).message).toBe(text);
    }
    // One level less is fine.
    expect(() => encodeWire('n1', message((deep as unknown[])[0]))).not.toThrow();
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
    expect(decodeWire(JSON.stringify({ v: 2, node: 'n2', e: { type: 'presence-diff', joins: {} } }))).toEqual({
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
      ['{}', 'wire version undefined, this node speaks 2'],
      ['[1,2,3]', 'wire version undefined, this node speaks 2'],
      [JSON.stringify({ v: 3, node: 'n', e: message(1) }), 'wire version 3, this node speaks 2'],
      [JSON.stringify({ v: 1, node: 'n', e: message({ '$vela:bytes': 'aGk=' }) }), 'wire version 1, this node speaks 2'],
      [JSON.stringify({ v: 2, node: 'n', seq: 0, e: message(1) }), 'seq must be a positive integer, got 0'],
      [JSON.stringify({ v: 2, node: 'n', seq: '3', e: message(1) }), 'seq must be a positive integer, got "3"'],
      [JSON.stringify({ v: '2', node: 'n', e: message(1) }), 'wire version "2", this node speaks 2'],
      [JSON.stringify({ v: 2 }), 'missing node or envelope'],
      [JSON.stringify({ v: 2, node: 7, e: message(1) }), 'missing node or envelope'],
      [JSON.stringify({ v: 2, node: 'n', e: null }), 'missing node or envelope'],
      [JSON.stringify({ v: 2, node: 'n', e: { message: ok } }), 'missing node or envelope'],
      [JSON.stringify({ v: 2, node: 'n', e: { type: 'message' } }), 'malformed message envelope: no message'],
      [JSON.stringify({ v: 2, node: 'n', e: { type: 'message', message: { ...ok, channel: 5 } } }), 'malformed message envelope: channel and topic must be strings'],
      [JSON.stringify({ v: 2, node: 'n', e: { type: 'message', message: { ...ok, sender: 5 } } }), 'malformed message envelope: sender must be a string or null'],
      [JSON.stringify({ v: 2, node: 'n', e: { type: 'session-send', frame: 'x' } }), 'malformed session-send envelope: sessionId must be a string'],
      [
        JSON.stringify({ v: 2, node: 'n', e: { type: 'session-send', sessionId: 's', frame: 42 } }),
        'malformed session-send envelope: frame must be a string, bytes or json(value)',
      ],
      [JSON.stringify({ v: 2, node: 'n', e: { type: 'send-all', frame: { data: 'x' } } }), 'malformed send-all envelope: frame must be a string, bytes or json(value)'],
      [JSON.stringify({ v: 2, node: 'n', e: { type: 'send-all', frame: 'x', exceptSession: 1 } }), 'malformed send-all envelope: exceptSession must be a string'],
      [JSON.stringify({ v: 2, node: 'n', e: { type: 'session-info', message: 1 } }), 'malformed session-info envelope: sessionId must be a string'],
      [JSON.stringify({ v: 2, node: 'n', e: message('aGk='), b: 'payload' }), 'malformed bytes list: b must be an array of paths'],
      [JSON.stringify({ v: 2, node: 'n', e: message('aGk='), b: [[]] }), 'malformed bytes list: [] is not a path'],
      [JSON.stringify({ v: 2, node: 'n', e: message(5), b: [['message', 'payload']] }), 'malformed bytes list: ["message","payload"] does not lead to a base64 string'],
      [JSON.stringify({ v: 2, node: 'n', e: message(['aGk=']), b: [['message', 'payload', '0']] }), 'malformed bytes list: ["message","payload","0"] does not lead to a base64 string'],
      [JSON.stringify({ v: 2, node: 'n', e: message({}), b: [['message', 'payload', '__proto__', 'x']] }), 'malformed bytes list: ["message","payload","__proto__","x"] does not lead to a base64 string'],
      [JSON.stringify({ v: 2, node: 'n', e: message('aGk='), b: [['message', 'payload'], ['message', 'payload']] }), 'malformed bytes list: ["message","payload"] does not lead to a base64 string'],
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
    const odd = [
      '{"v":2,"node":"n","e":{"type":"message","message":{"channel":"c","topic":"t","sender":null,"payload":"%%%"}},"b":[["message","payload"]]}',
      '{"v":2,"node":"n","e":{"type":"message","message":{"channel":"c","topic":"t","sender":null,"payload":1}},"b":[["constructor","prototype","x"],[null],[{}]]}',
      '{"__proto__":{"v":2}}',
    ];
    for (const raw of odd) expect(() => decodeWire(raw), raw).not.toThrow();
  });

  it('brings back, exactly, payload objects with "$vela:bytes" keys, whatever their values, beside real bytes', () => {
    const payload = {
      '$vela:bytes': 'aGk=',
      nested: { '$vela:bytes': 'AAEC', other: 'kept' },
      values: [{ '$vela:bytes': 7 }, { '$vela:bytes': null }, { '$$vela:bytes': 'x', '$vela:bytes': { '$vela:bytes': 'aGk=' } }],
      real: Buffer.from('hi'),
    };
    const back = roundTrip(message(payload)) as Extract<Envelope, { type: 'message' }>;
    expect(back.message.payload).toStrictEqual(payload);
    expect(Buffer.isBuffer((back.message.payload as typeof payload).real)).toBe(true);
  });
});
