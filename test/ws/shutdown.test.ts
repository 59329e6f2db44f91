// app.close() with sockets open: each is closed with 1001 and its terminate awaited before close()
// resolves; a peer that never completes the close handshake is cut at shutdownTimeout.
import { setTimeout as delay } from 'node:timers/promises';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { WebSocket as WsClient } from 'ws';
import { Module, OnMessage, WebSocket, reply, type CloseReason } from 'vela';
import { startTestApp } from 'vela/testing';

describe('app.close()', () => {
  it("closes every socket with 1001 and resolves only after each async terminate has finished", async () => {
    const events: string[] = [];
    @WebSocket('/shut')
    class ShutGateway {
      @OnMessage()
      echo(text: string) {
        return reply(text);
      }

      async terminate({ code }: CloseReason) {
        events.push(`terminate ${code} started`);
        await delay(30);
        events.push('terminate finished');
      }
    }
    @Module({ gateways: [ShutGateway] })
    class AppModule {}
    const app = await startTestApp(AppModule);
    const clients = await Promise.all([1, 2, 3].map(() => app.ws('/shut')));

    await app.close();
    events.push('app closed');
    for (const client of clients) {
      expect(await client.closed).toEqual({ code: 1001, reason: 'server shutting down' });
    }
    expect(events).toEqual([
      ...Array<string>(3).fill('terminate 1001 started'),
      ...Array<string>(3).fill('terminate finished'),
      'app closed',
    ]);
  });

  it('cuts a peer that does not finish the close handshake by shutdownTimeout, then resolves', async () => {
    const reasons: CloseReason[] = [];
    @WebSocket('/deaf')
    class DeafGateway {
      @OnMessage()
      echo(text: string) {
        return reply(text);
      }

      terminate(reason: CloseReason) {
        reasons.push(reason);
      }
    }
    @Module({ gateways: [DeafGateway] })
    class AppModule {}
    const app = await startTestApp(AppModule, { shutdownTimeout: 100 });
    const polite = await app.ws('/deaf');
    const deaf = await app.ws('/deaf');
    // Reading nothing, it never sees the server's close frame, so never answers it.
    (deaf.raw as unknown as { _socket: Socket })._socket.pause();

    const started = Date.now();
    await app.close();
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(await polite.closed).toEqual({ code: 1001, reason: 'server shutting down' });
    expect(reasons).toContainEqual({ code: 1001, reason: 'server shutting down' });
    expect(reasons).toContainEqual({ code: 1006, reason: '' });
    expect(reasons).toHaveLength(2);
  });

  it('refuses new connections once closed', async () => {
    @WebSocket('/gone')
    class GoneGateway {
      @OnMessage()
      echo(text: string) {
        return reply(text);
      }
    }
    @Module({ gateways: [GoneGateway] })
    class AppModule {}
    const app = await startTestApp(AppModule);
    await app.close();

    // A bare client: app.ws itself refuses to open a socket on a closed app, before the server could.
    const late = new WsClient(`${app.url.replace(/^http/, 'ws')}/gone`);
    const opened = new Promise((resolve, reject) => {
      late.once('open', resolve);
      late.once('error', reject);
    });
    await expect(opened).rejects.toThrow(/ECONNREFUSED/);
  });
});
