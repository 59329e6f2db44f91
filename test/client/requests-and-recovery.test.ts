// vela/client's side of requests and recovery, against a fake WebSocket the test plays the server
// for (the real thing, against a real server, is test/client/live.test.ts): what goes on the wire,
// what the app sees, and what survives a lost link.
import { describe, expect, it, vi } from 'vitest';
import { RequestError, type RecoverInfo } from '../../src/client/index.js';
import type { FakeWebSocket } from './fake-websocket.js';
import { latest, useFakePage } from './fake-page.js';

const { open, reconnect } = useFakePage('/live');
const sentJson = (ws: FakeWebSocket) => ws.sent.map((frame) => JSON.parse(String(frame)) as Record<string, unknown>);
const query = (ws: FakeWebSocket) => new URL(ws.url).searchParams;

describe("the gateway's vela:error events", () => {
  it("go to 'error' listeners, with the event, code, message and issues, and to no 'message' or onEvent listener", () => {
    const socket = open();
    latest().accept();
    const errors: unknown[] = [];
    const messages: unknown[] = [];
    const events: unknown[] = [];
    socket.on('error', (error) => errors.push(error));
    socket.on('message', (data) => messages.push(data));
    socket.onEvent('vela:error', (data) => events.push(data));

    const invalid = { event: 'post', code: 'invalid', message: "invalid data for event 'post': text: Required", issues: [{ path: ['text'], message: 'Required' }] };
    latest().push(JSON.stringify({ event: 'vela:error', data: invalid }));
    latest().push(JSON.stringify({ event: 'vela:error', data: { event: 'post', code: 'internal', message: 'internal error' } }));

    expect(errors).toEqual([invalid, { event: 'post', code: 'internal', message: 'internal error' }]);
    expect(messages).toEqual([]);
    expect(events).toEqual([]);
    expect(socket.state).toBe('open');
  });

  it("that are not shaped as errors are the app's frames, left to 'message'", () => {
    const socket = open();
    latest().accept();
    const errors: unknown[] = [];
    const messages: unknown[] = [];
    socket.on('error', (error) => errors.push(error));
    socket.on('message', (data) => messages.push(data));

    const odd = JSON.stringify({ event: 'vela:error', data: 'not an object' });
    latest().push(odd);
    expect(errors).toEqual([]);
    expect(messages).toEqual([odd]);
  });
});

describe('socket.request', () => {
  it('sends { event, data, ref } and resolves with the answer under that ref, which no message listener sees', async () => {
    const socket = open();
    const messages: unknown[] = [];
    socket.on('message', (data) => messages.push(data));
    latest().accept();
    const first = socket.request('post', { text: 'hi' });
    const second = socket.request('post', { text: 'again' });

    expect(sentJson(latest())).toEqual([
      { event: 'post', data: { text: 'hi' }, ref: '1' },
      { event: 'post', data: { text: 'again' }, ref: '2' },
    ]);
    latest().push(JSON.stringify({ ref: '2', ok: { id: 8 } }));
    latest().push(JSON.stringify({ ref: '1', ok: null }));
    expect(await Promise.all([first, second])).toEqual([null, { id: 8 }]);
    expect(messages).toEqual([]);
  });

  it("rejects with the server's error code and message", async () => {
    const socket = open();
    latest().accept();
    const asked = socket.request('post', {});
    latest().push(JSON.stringify({ ref: '1', error: { code: 'invalid', message: 'text is required' } }));

    await expect(asked).rejects.toEqual(new RequestError('invalid', 'text is required'));
    await expect(asked).rejects.toMatchObject({ code: 'invalid' });
  });

  it("rejects with the issues of an event's schema, when the server sends them", async () => {
    const socket = open();
    latest().accept();
    const asked = socket.request('post', {});
    const issues = [{ path: ['text'], message: 'Required' }];
    latest().push(JSON.stringify({ ref: '1', error: { code: 'invalid', message: "invalid data for event 'post': text: Required", issues } }));

    await expect(asked).rejects.toMatchObject({ code: 'invalid', message: "invalid data for event 'post': text: Required", issues });
    await expect(asked).rejects.toBeInstanceOf(RequestError);
  });

  it('rejects with timeout when no answer comes in time, and ignores a late answer', async () => {
    const socket = open();
    latest().accept();
    const asked = socket.request('slow', null, { timeout: 500 });
    vi.advanceTimersByTime(500);

    await expect(asked).rejects.toMatchObject({ code: 'timeout', message: "request('slow') got no answer within 500 ms." });
    const messages: unknown[] = [];
    socket.on('message', (data) => messages.push(data));
    latest().push(JSON.stringify({ ref: '1', ok: 'late' }));
    expect(messages).toEqual([JSON.stringify({ ref: '1', ok: 'late' })]);
  });

  it('sends a request made before the socket opened once it opens', async () => {
    const socket = open();
    const asked = socket.request('hello', 1);
    expect(latest().sent).toEqual([]);

    latest().accept();
    expect(sentJson(latest())).toEqual([{ event: 'hello', data: 1, ref: '1' }]);
    latest().push(JSON.stringify({ ref: '1', ok: 'hi' }));
    expect(await asked).toBe('hi');
  });

  it('sends an unanswered request again after a reconnect, under the same ref and client id, before queued sends', async () => {
    const socket = open();
    latest().accept();
    const clientId = query(latest()).get('vela_client');
    const asked = socket.request('post', { text: 'hi' });
    latest().drop();
    socket.send('queued while down');
    vi.advanceTimersByTime(100);
    latest().accept();

    expect(query(latest()).get('vela_client')).toBe(clientId);
    expect(latest().sent).toEqual([JSON.stringify({ event: 'post', data: { text: 'hi' }, ref: '1' }), 'queued while down']);
    latest().push(JSON.stringify({ ref: '1', ok: 'once' }));
    expect(await asked).toBe('once');
  });

  it('sends the trace context given beside ref, and the same with the repeat after a reconnect', async () => {
    const socket = open();
    latest().accept();
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const asked = socket.request('post', { text: 'hi' }, { traceparent, tracestate: 'vendor=1' });
    const frame = { event: 'post', data: { text: 'hi' }, ref: '1', traceparent, tracestate: 'vendor=1' };
    expect(sentJson(latest())).toEqual([frame]);
    latest().drop();
    vi.advanceTimersByTime(100);
    latest().accept();

    expect(sentJson(latest())).toEqual([frame]);
    latest().push(JSON.stringify({ ref: '1', ok: 'traced' }));
    expect(await asked).toBe('traced');
  });

  it('rejects what is pending with closed when the socket is closed', async () => {
    const socket = open();
    latest().accept();
    const asked = socket.request('post', {});
    socket.close();

    await expect(asked).rejects.toMatchObject({ code: 'closed' });
  });
});

describe('socket.onRequest', () => {
  it("answers the server's request with the handler's value, its error, or not_found", async () => {
    const socket = open();
    socket.onRequest('confirm', async (data) => ({ confirmed: data }));
    socket.onRequest('fail', () => {
      throw Object.assign(new Error('no way'), { code: 'refused' });
    });
    latest().accept();
    latest().push(JSON.stringify({ event: 'confirm', data: 'yes?', ref: 's1' }));
    latest().push(JSON.stringify({ event: 'fail', data: null, ref: 's2' }));
    latest().push(JSON.stringify({ event: 'unknown', data: null, ref: 's3' }));
    await vi.waitFor(() => expect(latest().sent).toHaveLength(3));

    // Answered as each handler finishes: matched by ref, in any order.
    expect(sentJson(latest()).sort((a, b) => String(a.ref).localeCompare(String(b.ref)))).toEqual([
      { ref: 's1', ok: { confirmed: 'yes?' } },
      { ref: 's2', error: { code: 'refused', message: 'no way' } },
      { ref: 's3', error: { code: 'not_found', message: "this client has no onRequest('unknown') handler" } },
    ]);
  });
});

describe('recovery', () => {
  it('hands a marked group to the app whole, then presents its position on the next connection', () => {
    const socket = open();
    const seen: string[] = [];
    socket.on('message', (data) => seen.push(String(data)));
    latest().accept();
    expect(query(latest()).has('vela_pos')).toBe(false);
    latest().push('vela:at {"channel":"comments","position":"e1:7","frames":2}');
    latest().push('first of 7');
    expect(seen).toEqual([]);
    latest().push('second of 7');
    expect(seen).toEqual(['first of 7', 'second of 7']);

    const next = reconnect();
    expect(JSON.parse(query(next).get('vela_pos')!)).toEqual({ comments: 'e1:7' });
  });

  it('drops a group cut short by a lost link, keeping the last whole position', () => {
    const socket = open();
    const seen: string[] = [];
    socket.on('message', (data) => seen.push(String(data)));
    latest().accept();
    latest().push('vela:at {"channel":"comments","position":"e1:1","frames":1}');
    latest().push('one');
    latest().push('vela:at {"channel":"comments","position":"e1:2","frames":2}');
    latest().push('half of two');

    const next = reconnect();
    expect(seen).toEqual(['one']);
    expect(JSON.parse(query(next).get('vela_pos')!)).toEqual({ comments: 'e1:1' });
    // The replay brings the whole group again: the app sees it once.
    next.push('vela:at {"channel":"comments","position":"e1:2","frames":2}');
    next.push('half of two');
    next.push('rest of two');
    expect(seen).toEqual(['one', 'half of two', 'rest of two']);
  });

  it("reports the server's recovery as a 'recover' event, and never shows protocol frames to the app", () => {
    const socket = open();
    const seen: unknown[] = [];
    const recovered: RecoverInfo[] = [];
    socket.on('message', (data) => seen.push(data));
    socket.on('recover', (info) => recovered.push(info));
    latest().accept();
    latest().push('vela:recover {"channel":"comments","recovered":false,"missed":0}');
    latest().push('vela:recover {"channel":"room:1","recovered":true,"missed":3}');
    latest().push('vela:something-new {}');

    expect(recovered).toEqual([
      { channel: 'comments', recovered: false, missed: 0 },
      { channel: 'room:1', recovered: true, missed: 3 },
    ]);
    expect(seen).toEqual([]);
  });
});
