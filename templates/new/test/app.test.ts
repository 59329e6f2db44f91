// The app on a real port: HTTP through fetch, the gateway through a real WebSocket.
import { afterEach, beforeEach, expect, it } from 'vitest';
import { startTestApp, type TestApp } from 'vela/testing';
import { AppModule } from '../src/app.module.js';

let app: TestApp;
beforeEach(async () => {
  app = await startTestApp(AppModule);
});
afterEach(() => app.close());

it('greets over HTTP', async () => {
  const res = await app.http.get('/hello/vela');
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ greeting: 'Hello, vela!' });
});

it('echoes over a WebSocket', async () => {
  const ws = await app.ws('/echo');
  ws.sendText('Hello Nova!');
  expect(await ws.recv()).toBe('Echo: Hello Nova!');
});
