// Peers that stop taking part are dropped: one that misses a heartbeat pong, one that sends nothing
// for idleTimeout, one that stops reading while the server writes (a slow consumer). Each test
// awaits the event that proves it (a ping, a close, a log line), never a fixed sleep.
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { HEARTBEAT_PING, HEARTBEAT_PONG, Module, OnMessage, WebSocket, reply, type Class, type CloseReason, type Connection } from 'vela';
import { start } from '../support/start.js';
import { connect, deferred, type Deferred } from '../support/ws-client.js';

async function serve(...gateways: Class[]) {
  @Module({ gateways })
  class AppModule {}
  return start(AppModule);
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
    const client = await connect(app, '/live', { autoPong: false });

    // Not `once(client.ws, 'ping')`: the first ping can come in the same read as the 101, before the
    // test could listen. The log line below says the server pinged and missed the pong.
    expect(await client.closed).toEqual({ code: 1006, reason: '' });
    expect(await terminated.promise).toEqual({ code: 1006, reason: '' });
    expect(app.log.entries).toContainEqual({
      level: 'debug',
      message: 'websocket peer missed a heartbeat',
      fields: { gateway: 'LiveGateway', connection: expect.any(String) },
    });
  });

  it('keeps a peer that answers pings open across heartbeats', async () => {
    const terminated = deferred<CloseReason>();
    const app = await serve(liveGateway({ heartbeat: 60 }, terminated));
    const client = await connect(app, '/live');

    // A peer is dropped at the ping after the one it missed: four pings in, it has been checked three times.
    for (let i = 0; i < 4; i += 1) await once(client.ws, 'ping');
    expect(client.ws.readyState).toBe(client.ws.OPEN);
    client.send('still here');
    expect(await client.next()).toBe('still here');
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
    const client = await connect(app, '/text');

    client.send(HEARTBEAT_PING);
    expect(await client.next()).toBe(HEARTBEAT_PONG);
    // Frames that only look like it are the handler's: the check is exact, and text-only.
    client.send(`${HEARTBEAT_PING} `);
    expect(await client.next()).toBe(`got ${HEARTBEAT_PING} `);
    client.send(Buffer.from(HEARTBEAT_PING));
    client.send(HEARTBEAT_PING);
    expect(await client.next()).toBe(HEARTBEAT_PONG);
    expect(texts).toEqual([`${HEARTBEAT_PING} `]);
    expect(app.log.entries).toContainEqual(expect.objectContaining({ message: 'websocket ignored a binary frame: no handler takes it' }));
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
    const client = await connect(app, '/events');

    client.send(HEARTBEAT_PING);
    expect(await client.next()).toBe(HEARTBEAT_PONG);
    client.sendJson({ event: 'echo', data: 1 });
    expect(await client.nextJson()).toEqual({ event: 'echo', data: 1 });
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
    const client = await connect(app, '/slow');

    client.send('work');
    client.send(HEARTBEAT_PING);
    expect(await client.next()).toBe(HEARTBEAT_PONG);
    release.resolve();
    expect(await client.next()).toBe('done work');
  });

  it('counts as activity for idleTimeout', async () => {
    const terminated = deferred<CloseReason>();
    // As above, protocol pings pace the client; this time it sends only vela:ping.
    const app = await serve(liveGateway({ idleTimeout: 300, heartbeat: 50 }, terminated));
    const client = await connect(app, '/live');

    for (let i = 0; i < 10; i += 1) {
      await once(client.ws, 'ping');
      client.send(HEARTBEAT_PING);
      expect(await client.next()).toBe(HEARTBEAT_PONG);
    }
    expect(client.ws.readyState).toBe(client.ws.OPEN);
    expect(await client.closed).toEqual({ code: 1000, reason: 'idle timeout' });
  });
});

describe('idleTimeout', () => {
  it("closes a silent peer with 1000 'idle timeout'", async () => {
    const terminated = deferred<CloseReason>();
    const app = await serve(liveGateway({ idleTimeout: 100, heartbeat: 0 }, terminated));
    const client = await connect(app, '/live');

    expect(await client.closed).toEqual({ code: 1000, reason: 'idle timeout' });
    expect(await terminated.promise).toEqual({ code: 1000, reason: 'idle timeout' });
  });

  it('starts over with every frame the peer sends', async () => {
    const terminated = deferred<CloseReason>();
    // Pings pace the client: it sends a frame on each one, so it is never silent for 300 ms, and
    // is still open after ten of them, well past the idle timeout. Pongs alone do not count.
    const app = await serve(liveGateway({ idleTimeout: 300, heartbeat: 50 }, terminated));
    const client = await connect(app, '/live');

    for (let i = 0; i < 10; i += 1) {
      await once(client.ws, 'ping');
      client.send(`frame ${i}`);
      expect(await client.next()).toBe(`frame ${i}`);
    }
    expect(client.ws.readyState).toBe(client.ws.OPEN);
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
    const client = await connect(app, '/flood');
    const socket = (client.ws as unknown as { _socket: Socket })._socket;

    socket.pause();
    client.send('flood');
    const result = await flooded.promise;
    expect(result.frames).toBeLessThan(4096);
    expect(result.open).toBe(false);
    const warning = app.log.entries.find((e) => e.message === 'websocket slow consumer closed');
    expect(warning).toMatchObject({ level: 'warn', fields: { gateway: 'FloodGateway', connection: expect.any(String) } });
    expect(warning!.fields.bufferedBytes).toBeGreaterThan(64 * 1024);

    socket.resume();
    expect(await client.closed).toEqual({ code: 1008, reason: 'slow consumer' });
  });
});
