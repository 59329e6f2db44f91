// Comms (Rwf): reach every socket of a session by its id, from a controller, on any gateway.
import { afterEach, describe, expect, it } from 'vitest';
import { Module } from 'vela';
import { startTestApp, type TestApp } from 'vela/testing';
import { NotificationsGateway } from './fixtures/gateways.js';
import { NotifyController } from './fixtures/notify-controller.js';

@Module({ controllers: [NotifyController], gateways: [NotificationsGateway] })
class AppModule {}

let app: TestApp;
afterEach(() => app?.close());

/** A browser of its own: its session, from a first request, and sockets in that session. */
async function browser() {
  const { http, ws } = app.client();
  const { session } = (await (await http.get('/api/me')).json()) as { session: string };
  const socket = async () => {
    const tab = await ws('/notifications');
    expect(await tab.recv()).toBe(`session ${session}`);
    return tab;
  };
  return { session, http, socket };
}

describe('Comms', () => {
  it("sends to every socket of a session and to no one else's", async () => {
    app = await startTestApp(AppModule);
    const ada = await browser();
    const joe = await browser();
    const [tab1, tab2, other] = [await ada.socket(), await ada.socket(), await joe.socket()];

    const res = await app.http.post(`/api/notify/${ada.session}`);
    expect(await res.json()).toEqual({ reached: 2 });
    expect(await tab1.recv()).toBe('you have mail');
    expect(await tab2.recv()).toBe('you have mail');

    // Joe's socket gets nothing: a frame sent to him afterwards is the first thing he sees.
    await app.http.post(`/api/notify/${joe.session}`);
    expect(await other.recv()).toBe('you have mail');
  });

  it("posts to the session's @OnInfo, as conn.info does", async () => {
    app = await startTestApp(AppModule);
    const ada = await browser();
    const tab = await ada.socket();
    expect(await (await app.http.post(`/api/mention/${ada.session}`)).json()).toEqual({ reached: 1 });
    expect(await tab.recv()).toBe('mentioned by ada');
  });

  it('reaches nobody for an unknown session, and stops reaching a closed socket', async () => {
    app = await startTestApp(AppModule);
    expect(await (await app.http.post('/api/notify/nobody')).json()).toEqual({ reached: 0 });

    const ada = await browser();
    await (await ada.socket()).close();
    expect(await (await app.http.post(`/api/notify/${ada.session}`)).json()).toEqual({ reached: 0 });
  });

  it('broadcasts to every socket except those of one session', async () => {
    app = await startTestApp(AppModule);
    const ada = await browser();
    const joe = await browser();
    const [adaTab, joeTab] = [await ada.socket(), await joe.socket()];

    expect(await (await ada.http.post('/api/announce')).json()).toEqual({ reached: 1 });
    expect(await joeTab.recvJson()).toEqual({ announcement: 'deploy at 5' });
    await app.http.post(`/api/notify/${ada.session}`);
    expect(await adaTab.recv()).toBe('you have mail');
  });

  it('rejects a frame that cannot be sent before sending anything', async () => {
    app = await startTestApp(AppModule);
    expect(() => app.comms.send('some-session', 42 as never)).toThrow(
      '42 is not a frame: send a string, a Buffer or Uint8Array, or json(value).',
    );
    expect(() => app.comms.send('', 'x')).toThrow('comms.send(sessionId, …) needs a session id');
  });
});
