// Many sockets at once: every frame answered, each socket's replies in its own send order, and
// every connection's state kept apart from the others'.
import { describe, expect, it } from 'vitest';
import { Module, OnMessage, WebSocket, reply } from 'vela';
import { startTestApp, type TestSocket } from 'vela/testing';

const SOCKETS = 500;
const FRAMES = 20;

describe('under load', () => {
  it(`answers ${SOCKETS} concurrent sockets × ${FRAMES} frames, in order per socket`, async () => {
    @WebSocket('/load', { heartbeat: 0 })
    class LoadGateway {
      seq = 0;

      @OnMessage()
      async echo(text: string) {
        this.seq += 1;
        // Every other frame waits a turn, so ordering is the mailbox's doing, not luck.
        if (this.seq % 2 === 0) await Promise.resolve();
        return reply(`${text}#${this.seq}`);
      }
    }
    @Module({ gateways: [LoadGateway] })
    class AppModule {}
    const app = await startTestApp(AppModule);

    const clients = await Promise.all(Array.from({ length: SOCKETS }, () => app.ws('/load')));
    const run = async (client: TestSocket, s: number) => {
      for (let f = 0; f < FRAMES; f += 1) client.sendText(`${s}:${f}`);
      const got: (string | Buffer)[] = [];
      for (let f = 0; f < FRAMES; f += 1) got.push(await client.recv({ timeout: 10_000 }));
      return got;
    };
    const results = await Promise.all(clients.map(run));

    results.forEach((got, s) => {
      expect(got).toEqual(Array.from({ length: FRAMES }, (_, f) => `${s}:${f}#${f + 1}`));
    });
    expect(app.logs.entries.filter((e) => e.level !== 'debug')).toEqual([]);
  });
});
