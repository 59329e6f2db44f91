// What gateway callbacks return and what that does to the socket: nothing, reply(...), stop(...);
// the Connection as a handle kept outside the gateway; and terminate, once the socket has closed.
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { Connection, Module, OnMessage, WebSocket, json, reply, stop, type Class, type CloseReason } from 'vela';
import { startTestApp } from 'vela/testing';
import { deferred } from '../support/deferred.js';

async function serve(...gateways: Class[]) {
  @Module({ gateways })
  class AppModule {}
  return startTestApp(AppModule);
}

describe('reply(...frames)', () => {
  it('builds a reply result holding the frames in order', () => {
    expect(reply('a')).toEqual(['reply', ['a']]);
    expect(reply('a', json(1), Buffer.from('c'))).toEqual(['reply', ['a', json(1), Buffer.from('c')]]);
  });
});

describe('stop(code, reason)', () => {
  it('defaults to a normal close', () => {
    expect(stop()).toEqual(['stop', 1000, '']);
    expect(stop(4001, 'kicked')).toEqual(['stop', 4001, 'kicked']);
  });

  it('throws a RangeError for a code that cannot be sent', () => {
    expect(() => stop(1006)).toThrow(RangeError);
    expect(() => stop(1006)).toThrow(
      'Close code 1006 cannot be sent: use 1000 (normal), 1001 (going away), 1008 (policy), 1011 (error) or an application code 4000–4999.',
    );
    for (const code of [0, 999, 1004, 1005, 1015, 2999, 5000, 1000.5, Number.NaN]) {
      expect(() => stop(code), `code ${code}`).toThrow(RangeError);
    }
    for (const code of [1000, 1001, 1008, 1011, 1014, 3000, 4999]) {
      expect(stop(code)[1]).toBe(code);
    }
  });

  it('throws a RangeError for a reason longer than a close frame holds (123 bytes)', () => {
    expect(stop(4000, 'x'.repeat(123))[2]).toHaveLength(123);
    expect(() => stop(4000, 'é'.repeat(62))).toThrow(new RangeError('Close reason is 124 bytes; a close frame holds at most 123.'));
  });
});

describe('what a handler returns', () => {
  @WebSocket('/ctl')
  class ControlGateway {
    static calls: string[] = [];

    @OnMessage()
    control(text: string) {
      ControlGateway.calls.push(text);
      if (text === 'quit') return stop();
      // After a wait, so that the frame sent right behind it is already queued when it stops.
      if (text === 'kick') return delay(20).then(() => stop(4001, 'kicked'));
      if (text === 'silent') return undefined;
      return reply(`ok ${text}`);
    }
  }

  it('nothing: sends nothing and keeps the socket open', async () => {
    const app = await serve(ControlGateway);
    const client = await app.ws('/ctl');

    client.sendText('silent');
    client.sendText('after');
    expect(await client.recv()).toBe('ok after');
  });

  it('stop(): closes with 1000', async () => {
    const app = await serve(ControlGateway);
    const client = await app.ws('/ctl');

    client.sendText('quit');
    expect(await client.closed).toEqual({ code: 1000, reason: '' });
  });

  it('stop(4001, reason): closes with that code and reason; frames queued behind it are not handled', async () => {
    ControlGateway.calls = [];
    const app = await serve(ControlGateway);
    const client = await app.ws('/ctl');

    client.sendText('kick');
    client.sendText('too late');
    expect(await client.closed).toEqual({ code: 4001, reason: 'kicked' });
    await expect(client.recv()).rejects.toThrow('closed with 4001 "kicked" before a message arrived');
    expect(ControlGateway.calls).toEqual(['kick']);
  });

  it('stop() from init: closes before any frame is handled', async () => {
    @WebSocket('/full')
    class FullGateway {
      init() {
        return stop(4003, 'room full');
      }

      @OnMessage()
      echo(text: string) {
        return reply(text);
      }
    }
    const app = await serve(FullGateway);
    const client = await app.ws('/full');

    expect(await client.closed).toEqual({ code: 4003, reason: 'room full' });
  });
});

describe('Connection', () => {
  it('carries an id and sends frames or closes from outside any handler', async () => {
    const conns: Connection[] = [];
    @WebSocket('/held')
    class HeldGateway {
      init(conn: Connection) {
        conns.push(conn);
      }

      @OnMessage()
      echo(text: string) {
        return reply(text);
      }
    }
    const app = await serve(HeldGateway);
    const client = await app.ws('/held');
    const other = await app.ws('/held');
    const [conn, otherConn] = conns as [Connection, Connection];

    expect(conn.id).toMatch(/^[\w-]{8}\.[0-9a-z]+$/);
    expect(otherConn.id).not.toBe(conn.id);
    expect(conn.open).toBe(true);
    expect(conn.send('pushed')).toBe(true);
    expect(conn.send(json({ n: 1 }))).toBe(true);
    expect(conn.send(new Uint8Array([1]))).toBe(true);
    expect(await client.recv()).toBe('pushed');
    expect(await client.recv()).toBe('{"n":1}');
    expect(await client.recv()).toEqual(Buffer.from([1]));

    conn.close(4000, 'bye');
    expect(conn.open).toBe(false);
    expect(conn.send('dropped')).toBe(false);
    expect(await client.closed).toEqual({ code: 4000, reason: 'bye' });
    expect(() => conn.close(1006)).toThrow(RangeError);

    other.sendText('still here');
    expect(await other.recv()).toBe('still here');
  });
});

describe('terminate', () => {
  it("runs once, after close, with the client's close code and reason", async () => {
    const reasons: CloseReason[] = [];
    const terminated = deferred();
    @WebSocket('/bye')
    class ByeGateway {
      @OnMessage()
      echo(text: string) {
        return reply(text);
      }

      terminate(reason: CloseReason) {
        reasons.push(reason);
        terminated.resolve();
      }
    }
    const app = await serve(ByeGateway);
    const client = await app.ws('/bye');

    expect(await client.close(4000, 'leaving')).toEqual({ code: 4000, reason: 'leaving' });
    await terminated.promise;
    await app.close();
    expect(reasons).toEqual([{ code: 4000, reason: 'leaving' }]);
  });

  it('receives the code and reason of a close the server asked for', async () => {
    const terminated = deferred<CloseReason>();
    @WebSocket('/kick')
    class KickGateway {
      @OnMessage()
      kick() {
        return stop(4001, 'kicked');
      }

      terminate(reason: CloseReason) {
        terminated.resolve(reason);
      }
    }
    const app = await serve(KickGateway);
    const client = await app.ws('/kick');

    client.sendText('go');
    expect(await terminated.promise).toEqual({ code: 4001, reason: 'kicked' });
    expect(await client.closed).toEqual({ code: 4001, reason: 'kicked' });
  });

  it('waits for the handler that was running when the socket closed', async () => {
    const events: string[] = [];
    const terminated = deferred();
    @WebSocket('/busy')
    class BusyGateway {
      @OnMessage()
      async work(_text: string, conn: Connection) {
        events.push('work started');
        // Still running when the server learns of the close (conn.open turns false then).
        while (conn.open) await new Promise((resolve) => setImmediate(resolve));
        events.push('work finished');
      }

      terminate() {
        events.push('terminate');
        terminated.resolve();
      }
    }
    const app = await serve(BusyGateway);
    const client = await app.ws('/busy');

    client.sendText('go');
    client.raw.close(4000);
    await terminated.promise;
    expect(events).toEqual(['work started', 'work finished', 'terminate']);
  });
});
