// Peers that stop taking part are dropped: one that misses a heartbeat pong, one that sends nothing
// for idleTimeout, one that stops reading while the server writes (a slow consumer). Each test
// awaits the event that proves it (a ping, a close, a log line), never a fixed sleep.
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { HEARTBEAT_PING, HEARTBEAT_PONG, Module, OnMessage, WebSocket, reply, type Class, type CloseReason, type Connection } from 'vela';
import { startTestApp } from 'vela/testing';
import { deferred, type Deferred } from '../support/deferred.js';

async function serve(...gateways: Class[]) {
  @Module({ gateways })
  class AppModule {}
  return startTestApp(AppModule);
}

/** An echo gateway on `/live` with these options; `terminated` settles with its close reason. */
function liveGateway(options: { heartbeat?: number; idleTimeout?: number }, terminated: Deferred<CloseReason>): Class {
  @WebSocket('/live', options)
  class LiveGateway {
    @OnMessage()
    echo(text: string) {
      return reply(text);
    }

    terminate(reason: CloseReason) {
      terminated.resolve(reason);
    }
  }
  return LiveGateway;
}

describe('heartbeat', () => {
  it('drops a peer that does not answer pings: no close handshake (1006), then terminate', async () => {
    const terminated = deferred<CloseReason>();
    const app = await serve(liveGateway({ heartbeat: 50 }, terminated));
    const client = await app.ws('/live', { autoPong: false });

    // Not `once(client.raw, 'ping')`: the first ping can come in the same read as the 101, before the
    // test could listen. The log line below says the server pinged and missed the pong.
    expect(await client.closed).toEqual({ code: 1006, reason: '' });
    expect(await terminated.promise).toEqual({ code: 1006, reason: '' });
    expect(app.logs.entries).toContainEqual({
      level: 'debug',
      message: 'websocket peer missed a heartbeat',
      fields: { gateway: 'LiveGateway', connection: expect.any(String) },
    });
  });

  it('keeps a peer that answers pings open across heartbeats', async () => {
    const terminated = deferred<CloseReason>();
    const app = await serve(liveGateway({ heartbeat: 60 }, terminated));
    const client = await app.ws('/live');

    // A peer is dropped at the ping after the one it missed: four pings in, it has been checked three times.
    for (let i = 0; i < 4; i += 1) await once(client.raw, 'ping');
    expect(client.raw.readyState).toBe(client.raw.OPEN);
    client.sendText('still here');
    expect(await client.recv()).toBe('still here');
  });
});

describe('app-level heartbeat (vela:ping, for vela/client)', () => {
  it('answers vela:ping with vela:pong and never hands it to @OnMessage()', async () => {
    const texts: string[] = [];
    @WebSocket('/text')
    class TextGateway {
      @OnMessage()
      text(text: string) {
        texts.push(text);
        return reply(`got ${text}`);
      }
    }
    const app = await serve(TextGateway);
    const client = await app.ws('/text');

    client.sendText(HEARTBEAT_PING);
    expect(await client.recv()).toBe(HEARTBEAT_PONG);
    // Frames that only look like it are the handler's: the check is exact, and text-only.
    client.sendText(`${HEARTBEAT_PING} `);
    expect(await client.recv()).toBe(`got ${HEARTBEAT_PING} `);
    client.sendBinary(Buffer.from(HEARTBEAT_PING));
    client.sendText(HEARTBEAT_PING);
    expect(await client.recv()).toBe(HEARTBEAT_PONG);
    expect(texts).toEqual([`${HEARTBEAT_PING} `]);
    expect(app.logs.entries).toContainEqual(expect.objectContaining({ message: 'websocket ignored a binary frame: no handler takes it' }));
  });

  it('answers it on a gateway of JSON events only, which would close on any other plain text', async () => {
    @WebSocket('/events')
    class EventsGateway {
      @OnMessage('echo')
      echo(data: unknown) {
        return reply(JSON.stringify({ event: 'echo', data }));
      }
    }
    const app = await serve(EventsGateway);
    const client = await app.ws('/events');

    client.sendText(HEARTBEAT_PING);
    expect(await client.recv()).toBe(HEARTBEAT_PONG);
    client.sendJson({ event: 'echo', data: 1 });
    expect(await client.recvJson()).toEqual({ event: 'echo', data: 1 });
  });

  it('answers at once while a slow handler holds the mailbox', async () => {
    const release = deferred();
    onTestFinished(() => release.resolve());
    @WebSocket('/slow')
    class SlowGateway {
      @OnMessage()
      async slow(text: string) {
        await release.promise;
        return reply(`done ${text}`);
      }
    }
    const app = await serve(SlowGateway);
    const client = await app.ws('/slow');

    client.sendText('work');
    client.sendText(HEARTBEAT_PING);
    expect(await client.recv()).toBe(HEARTBEAT_PONG);
    release.resolve();
    expect(await client.recv()).toBe('done work');
  });

  it('counts as activity for idleTimeout', async () => {
    const terminated = deferred<CloseReason>();
    // As above, protocol pings pace the client; this time it sends only vela:ping.
    const app = await serve(liveGateway({ idleTimeout: 300, heartbeat: 50 }, terminated));
    const client = await app.ws('/live');

    for (let i = 0; i < 10; i += 1) {
      await once(client.raw, 'ping');
      client.sendText(HEARTBEAT_PING);
      expect(await client.recv()).toBe(HEARTBEAT_PONG);
    }
    expect(client.raw.readyState).toBe(client.raw.OPEN);
    expect(await client.closed).toEqual({ code: 1000, reason: 'idle timeout' });
  });
});

describe('idleTimeout', () => {
  it("closes a silent peer with 1000 'idle timeout'", async () => {
    const terminated = deferred<CloseReason>();
    const app = await serve(liveGateway({ idleTimeout: 100, heartbeat: 0 }, terminated));
    const client = await app.ws('/live');

    expect(await client.closed).toEqual({ code: 1000, reason: 'idle timeout' });
    expect(await terminated.promise).toEqual({ code: 1000, reason: 'idle timeout' });
  });

  it('starts over with every frame the peer sends', async () => {
    const terminated = deferred<CloseReason>();
    // Pings pace the client: it sends a frame on each one, so it is never silent for 300 ms, and
    // is still open after ten of them, well past the idle timeout. Pongs alone do not count.
    const app = await serve(liveGateway({ idleTimeout: 300, heartbeat: 50 }, terminated));
    const client = await app.ws('/live');

    for (let i = 0; i < 10; i += 1) {
      await once(client.raw, 'ping');
      client.sendText(`frame ${i}`);
      expect(await client.recv()).toBe(`frame ${i}`);
    }
    expect(client.raw.readyState).toBe(client.raw.OPEN);
    // Then silence, with pongs still going: the idle timeout applies.
    expect(await client.closed).toEqual({ code: 1000, reason: 'idle timeout' });
  });
});

describe('maxBufferedBytes', () => {
  it('closes a peer that stops reading with 1008, once its unsent data passes the limit', async () => {
    const flooded = deferred<{ frames: number; lastSend: boolean; open: boolean }>();
    const frame = Buffer.alloc(64 * 1024, 1);
    @WebSocket('/flood', { maxBufferedBytes: 64 * 1024 })
    class FloodGateway {
      @OnMessage()
      flood(_text: string, conn: Connection) {
        let frames = 0;
        let lastSend = true;
        // Bounded, in case the limit were never applied: 4096 × 64 KiB is far beyond any socket buffer.
        while (lastSend && conn.open && frames < 4096) {
          lastSend = conn.send(frame);
          frames += 1;
        }
        flooded.resolve({ frames, lastSend, open: conn.open });
      }
    }
    const app = await serve(FloodGateway);
    const client = await app.ws('/flood');
    const socket = (client.raw as unknown as { _socket: Socket })._socket;

    socket.pause();
    client.sendText('flood');
    const result = await flooded.promise;
    expect(result.frames).toBeLessThan(4096);
    expect(result.open).toBe(false);
    const warning = app.logs.entries.find((e) => e.message === 'websocket slow consumer closed');
    expect(warning).toMatchObject({ level: 'warn', fields: { gateway: 'FloodGateway', connection: expect.any(String) } });
    expect(warning!.fields.bufferedBytes).toBeGreaterThan(64 * 1024);

    socket.resume();
    expect(await client.closed).toEqual({ code: 1008, reason: 'slow consumer' });
  });
});
