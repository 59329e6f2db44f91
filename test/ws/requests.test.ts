// Requests with answers on one gateway: a client's event with a `ref` gets exactly one answer
// (ack, nothing, reply frames first, WsError, internal error, not_found), in order, with the
// socket kept open; the server's own requests to the client; and answers remembered per client
// for repeats after a reconnect, on one app and on two apps sharing a MemoryBus.
import { describe, expect, it } from 'vitest';
import { ConfigError, MemoryAnswerStore, MemoryBus, WsError, memoryPubSub } from 'vela';
import { startTestApp, type TestApp, type TestSocket } from 'vela/testing';
import { Handled, MAX_PAYLOAD, RequestModule } from '../fixtures/request-gateway.js';
import { eventually } from '../pubsub/support.js';

const CLIENT = 'client-0001';

function serve(handled = new Handled(), options: { bus?: MemoryBus; window?: number } = {}): Promise<TestApp> {
  return startTestApp(RequestModule, {
    providers: [{ provide: Handled, useValue: handled }],
    pubsub: memoryPubSub({ bus: options.bus }),
    requests: options.window === undefined ? undefined : { window: options.window },
  });
}

/** Sends a request and returns its answer (the next frame). */
async function ask(socket: TestSocket, event: string, data: unknown, ref: string): Promise<unknown> {
  socket.sendJson({ event, data, ref });
  return socket.recvJson();
}

describe('a request from the client', () => {
  it('is answered with ack(value), or ok: null when the handler returns nothing', async () => {
    const app = await serve();
    const socket = await app.ws('/requests');
    expect(await ask(socket, 'add', { n: 1 }, '1')).toEqual({ ref: '1', ok: { sum: 2 } });
    expect(await ask(socket, 'nothing', null, '2')).toEqual({ ref: '2', ok: null });
  });

  it('gets the frames of reply(...frames, ack(value)) first, then the answer', async () => {
    const app = await serve();
    const socket = await app.ws('/requests');
    socket.sendJson({ event: 'announce', data: 'hi', ref: 'r' });
    expect(await socket.recv()).toBe('before hi');
    expect(await socket.recvJson()).toEqual({ also: 'hi' });
    expect(await socket.recvJson()).toEqual({ ref: 'r', ok: 'announced' });
  });

  it('is answered with the code and message of a thrown WsError, and the socket stays open', async () => {
    const app = await serve();
    const socket = await app.ws('/requests');
    expect(await ask(socket, 'refuse', null, '1')).toEqual({ ref: '1', error: { code: 'invalid', message: 'text is required' } });
    expect(await ask(socket, 'add', { n: 2 }, '2')).toEqual({ ref: '2', ok: { sum: 3 } });
    expect(app.logs.entries.filter((entry) => entry.level === 'error')).toEqual([]);
  });

  it('is answered internal, without the message or stack, for any other exception: logged with the handler, socket open', async () => {
    const app = await serve();
    const socket = await app.ws('/requests');
    socket.sendJson({ event: 'crash', data: null, ref: '1' });
    const raw = await socket.recv();
    expect(JSON.parse(String(raw))).toEqual({ ref: '1', error: { code: 'internal', message: 'internal error' } });
    expect(String(raw)).not.toContain('secret');
    expect(app.logs.entries).toContainEqual(
      expect.objectContaining({ level: 'error', message: 'gateway callback failed', fields: expect.objectContaining({ handler: 'RequestGateway.crash' }) }),
    );
    expect(await ask(socket, 'add', { n: 0 }, '2')).toEqual({ ref: '2', ok: { sum: 1 } });
  });

  it('for an event no handler takes is answered not_found', async () => {
    const app = await serve();
    const socket = await app.ws('/requests');
    expect(await ask(socket, 'nope', null, '1')).toEqual({ ref: '1', error: { code: 'not_found', message: "no handler for event 'nope'" } });
  });

  it('is answered in the order the requests arrived, a slow one holding the later ones', async () => {
    const handled = new Handled();
    const app = await serve(handled);
    const socket = await app.ws('/requests');
    socket.sendJson({ event: 'slow', data: null, ref: 'a' });
    socket.sendJson({ event: 'add', data: { n: 1 }, ref: 'b' });
    await handled.started.promise;
    await socket.expectNoMessage(50);
    handled.gate.resolve();
    expect(await socket.recvJson()).toEqual({ ref: 'a', ok: 'slow done' });
    expect(await socket.recvJson()).toEqual({ ref: 'b', ok: { sum: 2 } });
  });

  it.each([
    ['a number', 7],
    ['an empty string', ''],
    ['65 characters', 'r'.repeat(65)],
  ])('with a ref that is %s closes the socket with 1007 saying what to send', async (_what, ref) => {
    const app = await serve();
    const socket = await app.ws('/requests');
    socket.sendJson({ event: 'add', data: { n: 1 }, ref });
    expect(await socket.closed).toEqual({ code: 1007, reason: 'event ref must be a string of 1 to 64 characters' });
  });

  it('an ack returned for a plain event (no ref) or from @OnInfo sends nothing', async () => {
    const app = await serve();
    const socket = await app.ws('/requests');
    socket.sendEvent('add', { n: 1 });
    socket.sendEvent('poke');
    await socket.expectNoMessage(50);
    const ignored = app.logs.entries.filter((entry) => entry.message === 'gateway ack ignored: only a request (an event with a ref) is answered');
    expect(ignored.map((entry) => entry.fields?.handler)).toEqual(['RequestGateway.add', 'RequestGateway.info']);
    expect(await ask(socket, 'add', { n: 1 }, '1')).toEqual({ ref: '1', ok: { sum: 2 } });
  });
});

describe('conn.request (server to client)', () => {
  it("resolves with the client's ok value", async () => {
    const handled = new Handled();
    const app = await serve(handled);
    const socket = await app.ws('/requests');
    socket.sendEvent('ask', { q: 1 });
    expect(await socket.recvJson()).toEqual({ event: 'confirm', data: { q: 1 }, ref: 's1' });
    socket.sendJson({ ref: 's1', ok: 'yes' });
    expect(await handled.asked.promise).toEqual({ ok: 'yes' });
  });

  it("rejects with a WsError carrying the client's code and message", async () => {
    const handled = new Handled();
    const app = await serve(handled);
    const socket = await app.ws('/requests');
    socket.sendEvent('ask', {});
    const { ref } = await socket.recvJson<{ ref: string }>();
    socket.sendJson({ ref, error: { code: 'declined', message: 'not now' } });
    expect(await handled.asked.promise).toEqual({ code: 'declined', message: 'not now', isWsError: true });
  });

  it("rejects with 'timeout' when the client does not answer in time, and a late answer is ignored", async () => {
    const handled = new Handled();
    const app = await serve(handled);
    const socket = await app.ws('/requests');
    socket.sendEvent('ask', { timeout: 30 });
    const { ref } = await socket.recvJson<{ ref: string }>();
    expect(await handled.asked.promise).toEqual({ code: 'timeout', message: "no answer to 'confirm' within 30 ms", isWsError: true });
    socket.sendJson({ ref, ok: 'late' });
    expect(await ask(socket, 'add', { n: 1 }, '1')).toEqual({ ref: '1', ok: { sum: 2 } });
  });

  it("rejects with 'closed' when the connection closes first", async () => {
    const handled = new Handled();
    const app = await serve(handled);
    const socket = await app.ws('/requests');
    socket.sendEvent('ask', {});
    await socket.recvJson();
    await socket.close();
    expect(await handled.asked.promise).toMatchObject({ code: 'closed' });
  });

  it("holds at most 1 000 unanswered requests per connection: the next rejects with 'overloaded'", async () => {
    const app = await serve();
    const socket = await app.ws('/requests');
    socket.sendEvent('flood');
    for (let i = 1; i <= 1_000; i += 1) expect(await socket.recvJson()).toEqual({ event: 'ping', data: null, ref: `s${i}` });
    expect(await socket.recvJson()).toEqual({ last: 'overloaded' });
  });
});

describe('a request repeated after a reconnect (same vela_client and ref)', () => {
  const url = `/requests?vela_client=${CLIENT}`;

  it('is answered from memory, without running the handler again', async () => {
    const handled = new Handled();
    const app = await serve(handled);
    const first = await app.ws(url);
    expect(await ask(first, 'add', { n: 1 }, '7')).toEqual({ ref: '7', ok: { sum: 2 } });
    await first.close();
    const again = await app.ws(url);
    expect(await ask(again, 'add', { n: 1 }, '7')).toEqual({ ref: '7', ok: { sum: 2 } });
    expect(handled.runs.get('add')).toBe(1);
    // Another ref, or another client, is another request.
    expect(await ask(again, 'add', { n: 5 }, '8')).toEqual({ ref: '8', ok: { sum: 6 } });
    const other = await app.ws('/requests?vela_client=client-0002');
    expect(await ask(other, 'add', { n: 1 }, '7')).toEqual({ ref: '7', ok: { sum: 2 } });
    expect(handled.runs.get('add')).toBe(3);
  });

  it('on another app of the same MemoryBus is answered once, by the first answer', async () => {
    const handled = new Handled();
    const bus = new MemoryBus();
    const [one, two] = await Promise.all([serve(handled, { bus }), serve(handled, { bus })]);
    const first = await one.ws(url);
    expect(await ask(first, 'add', { n: 1 }, '1')).toEqual({ ref: '1', ok: { sum: 2 } });
    await first.close();
    const again = await two.ws(url);
    expect(await ask(again, 'add', { n: 1 }, '1')).toEqual({ ref: '1', ok: { sum: 2 } });
    expect(handled.runs.get('add')).toBe(1);
  });

  it('while the first still runs (its link cut) waits for it and gets the same answer, once', async () => {
    const handled = new Handled();
    const app = await serve(handled);
    const first = await app.ws(url);
    first.sendJson({ event: 'slow', data: null, ref: '1' });
    await handled.started.promise;
    first.raw.terminate();
    await first.closed;
    const again = await app.ws(url);
    again.sendJson({ event: 'slow', data: null, ref: '1' });
    await again.expectNoMessage(50);
    handled.gate.resolve();
    expect(await again.recvJson()).toEqual({ ref: '1', ok: 'slow done' });
    expect(handled.runs.get('slow')).toBe(1);
  });

  it('with an answer bigger than maxPayload is answered unavailable (the answer is not kept)', async () => {
    const handled = new Handled();
    const app = await serve(handled);
    const first = await app.ws(url);
    const answer = await ask(first, 'big', null, '1');
    expect(answer).toEqual({ ref: '1', ok: 'x'.repeat(MAX_PAYLOAD) });
    expect(await ask(first, 'big', null, '1')).toEqual({
      ref: '1',
      error: { code: 'unavailable', message: 'the first of these requests was handled, but its answer is gone' },
    });
    expect(handled.runs.get('big')).toBe(1);
  });

  it('is run again once the window has passed', async () => {
    const handled = new Handled();
    const bus = new MemoryBus();
    const app = await serve(handled, { bus, window: 300 });
    const socket = await app.ws(url);
    expect(await ask(socket, 'add', { n: 1 }, '1')).toEqual({ ref: '1', ok: { sum: 2 } });
    expect(await ask(socket, 'add', { n: 1 }, '1')).toEqual({ ref: '1', ok: { sum: 2 } });
    expect(handled.runs.get('add')).toBe(1);
    const store: MemoryAnswerStore = bus.answers;
    await eventually(() => store.has(CLIENT, '1'), (kept) => !kept, 'the answer to expire');
    expect(await ask(socket, 'add', { n: 1 }, '1')).toEqual({ ref: '1', ok: { sum: 2 } });
    expect(handled.runs.get('add')).toBe(2);
  });

  it('without vela_client is simply run again', async () => {
    const handled = new Handled();
    const app = await serve(handled);
    const socket = await app.ws('/requests');
    await ask(socket, 'add', { n: 1 }, '1');
    await ask(socket, 'add', { n: 1 }, '1');
    expect(handled.runs.get('add')).toBe(2);
  });
});

describe('MemoryAnswerStore', () => {
  it('keeps at most 1 000 answers per client, dropping the oldest, and a global maximum', async () => {
    const store = new MemoryAnswerStore({ max: 1_500 });
    for (let ref = 0; ref <= 1_000; ref += 1) await store.settle('a-client', String(ref), `answer ${ref}`, 60_000);
    expect(store.has('a-client', '0')).toBe(false);
    expect(store.has('a-client', '1')).toBe(true);
    expect(store.size).toBe(1_000);
    for (let ref = 0; ref < 1_000; ref += 1) await store.settle('b-client', String(ref), `answer ${ref}`, 60_000);
    expect(store.size).toBe(1_500);
    expect(await store.claim('b-client', '999', 60_000)).toEqual({ kind: 'answer', answer: 'answer 999' });
  });
});

describe('WsError and the requests option', () => {
  it('refuses a code that is not a non-empty word of a-z 0-9 _ . - where it is made', () => {
    expect(() => new WsError('Bad Code', 'x')).toThrow(
      new TypeError(`WsError code must be a non-empty string of a-z 0-9 _ . - (such as 'invalid' or 'not_found'), got "Bad Code".`),
    );
    expect(() => new WsError('', 'x')).toThrow(TypeError);
    expect(new WsError('auth.expired', 'log in again')).toMatchObject({ code: 'auth.expired', message: 'log in again', name: 'WsError' });
  });

  it.each([
    [{ window: 0 }, 'bootstrap requests.window must be a whole number of milliseconds ≥ 1, got 0.'],
    [{ windw: 5 }, "bootstrap requests has no option 'windw': use window (milliseconds)."],
  ])('bootstrap refuses requests %j', async (requests, message) => {
    await expect(startTestApp(RequestModule, { requests: requests as { window: number } })).rejects.toThrow(new ConfigError(message));
  });
});
