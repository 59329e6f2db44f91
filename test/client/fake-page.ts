// A page for vela/client's logic tests: each test of the file runs on fake timers, with
// FakeWebSocket as the page's WebSocket, and the sockets it opened are closed after it.
import { afterEach, beforeEach, vi } from 'vitest';
import { connect, type VelaSocket } from '../../src/client/index.js';
import { FakeWebSocket } from './fake-websocket.js';

/** The newest fake WebSocket: the connection the client uses now. */
export const latest = (): FakeWebSocket => FakeWebSocket.instances.at(-1)!;

/** Installs the fake page for the file's tests; `open()` connects to `path` with no heartbeat and a 100 ms retry. */
export function useFakePage(path: string): { open: () => VelaSocket; reconnect: () => FakeWebSocket } {
  const opened: VelaSocket[] = [];

  beforeEach(() => {
    vi.useFakeTimers();
    vi.stubGlobal('WebSocket', FakeWebSocket);
    vi.stubGlobal('location', new URL('https://blog.example/'));
    FakeWebSocket.instances = [];
  });

  afterEach(() => {
    for (const socket of opened.splice(0)) socket.close();
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  return {
    open() {
      const socket = connect(path, { heartbeat: false, reconnect: { initialDelay: 100, jitter: 0 } });
      opened.push(socket);
      return socket;
    },
    /** Drops the link and lets the client reconnect to a new fake socket, accepted. */
    reconnect() {
      latest().drop();
      vi.advanceTimersByTime(100);
      const ws = latest();
      ws.accept();
      return ws;
    },
  };
}
