// vela/client against a real Vela server (its logic alone, on a fake socket, is
// requests-and-recovery.test.ts): requests and their answers over real sockets, and a request whose
// link is cut while its handler runs — sent again after the reconnect, answered once, run once.
// Node runs the browser client with the `ws` package's WebSocket; a TCP proxy in between cuts links.
import { WebSocket as NodeWebSocket } from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from 'vela/testing';
import { connect, RequestError, type EventError, type VelaSocket } from '../../src/client/index.js';
import { Handled, RequestModule } from '../fixtures/request-gateway.js';
import { TcpProxy } from '../support/tcp-proxy.js';

const sockets: VelaSocket[] = [];
let proxy: TcpProxy;
let app: TestApp;
let handled: Handled;

beforeAll(() => {
  (globalThis as { WebSocket?: unknown }).WebSocket = NodeWebSocket;
});

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.close();
  await proxy?.close();
  await app?.close();
});

async function start(): Promise<VelaSocket> {
  handled = new Handled();
  app = await startTestApp(RequestModule, { providers: [{ provide: Handled, useValue: handled }] });
  proxy = await TcpProxy.listen();
  proxy.targets = [app.port];
  const socket = connect(`ws://127.0.0.1:${proxy.port}/requests`, { heartbeat: false, reconnect: { initialDelay: 10, jitter: 0 } });
  sockets.push(socket);
  return socket;
}

describe('vela/client with a real server', () => {
  it("resolves with the handler's ack, and rejects with its WsError code or internal", async () => {
    const socket = await start();

    expect(await socket.request('add', { n: 41 })).toEqual({ sum: 42 });
    expect(await socket.request('nothing')).toBeNull();
    await expect(socket.request('refuse')).rejects.toEqual(new RequestError('invalid', 'text is required'));
    await expect(socket.request('crash')).rejects.toMatchObject({ code: 'internal' });
    await expect(socket.request('nowhere')).rejects.toMatchObject({ code: 'not_found' });
  });

  it("rejects a request whose data fails the event's schema with code invalid and the issues", async () => {
    const socket = await start();

    expect(await socket.request('titled', { title: 'Hello' })).toBe('Hello');
    const refused: unknown = await socket.request('titled', { title: '' }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(RequestError);
    expect(refused).toMatchObject({
      code: 'invalid',
      message: expect.stringMatching(/^invalid data for event 'titled': title: /),
      issues: [{ path: ['title'], message: expect.any(String) }],
    });
  });

  it("reports an emitted event whose data fails the schema to 'error' listeners, never to 'message'; the socket stays open", async () => {
    const socket = await start();
    const messages: unknown[] = [];
    socket.on('message', (data) => messages.push(data));
    const reported = new Promise<EventError>((resolve) => socket.on('error', resolve));

    socket.emit('titled', { title: 'x'.repeat(21) });
    expect(await reported).toEqual({
      event: 'titled',
      code: 'invalid',
      message: expect.stringMatching(/^invalid data for event 'titled': title: /),
      issues: [{ path: ['title'], message: expect.any(String) }],
    });
    expect(messages).toEqual([]);
    expect(await socket.request('titled', { title: 'still open' })).toBe('still open');
    expect(socket.state).toBe('open');
  });

  it("answers the server's conn.request from onRequest", async () => {
    const socket = await start();
    socket.onRequest('confirm', (data) => ({ seen: data }));

    socket.emit('ask', { timeout: 5_000 });
    expect(await handled.asked.promise).toEqual({ ok: { seen: { timeout: 5_000 } } });
  });

  it('sends a request cut off while its handler runs again after the reconnect, and its handler runs once', async () => {
    const socket = await start();
    const reconnected = new Promise((resolve) => socket.on('reconnect', resolve));
    const answer = socket.request('slow');
    await handled.started.promise;

    proxy.cut();
    await reconnected;
    // The first run finishes now, its answer lost with the old link; the repeat gets it from memory.
    handled.gate.resolve();

    expect(await answer).toBe('slow done');
    expect(handled.runs.get('slow')).toBe(1);
  });
});

afterAll(() => {
  delete (globalThis as { WebSocket?: unknown }).WebSocket;
});
