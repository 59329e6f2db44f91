// Frames in, replies out: what @OnMessage and @OnInfo handlers receive, the state a gateway keeps
// per connection, and the order in which replies reach the client.
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { Connection, Module, OnInfo, OnMessage, WebSocket, json, reply, type Class } from 'vela';
import { startTestApp, type TestSocket } from 'vela/testing';

async function serve(...gateways: Class[]) {
  @Module({ gateways })
  class AppModule {}
  return startTestApp(AppModule);
}

/** The next `count` messages, in arrival order. */
async function take(client: TestSocket, count: number): Promise<(string | Buffer)[]> {
  const messages = [];
  for (let i = 0; i < count; i += 1) messages.push(await client.recv());
  return messages;
}

describe('@OnMessage()', () => {
  it('receives each text frame as a string, with the connection, and reply() answers it', async () => {
    const seen: unknown[] = [];
    @WebSocket('/echo')
    class EchoGateway {
      @OnMessage()
      echo(text: unknown, conn: unknown) {
        seen.push([text, conn instanceof Connection]);
        return reply(`Echo: ${String(text)}`);
      }
    }
    const app = await serve(EchoGateway);
    const client = await app.ws('/echo');

    client.sendText('Hello Nova!');
    expect(await client.recv()).toBe('Echo: Hello Nova!');
    client.sendText('héllo ☃');
    expect(await client.recv()).toBe('Echo: héllo ☃');
    expect(seen).toEqual([
      ['Hello Nova!', true],
      ['héllo ☃', true],
    ]);
  });

  it("sends init's reply as the first frame, before answering frames sent while init was still running", async () => {
    @WebSocket('/greet')
    class GreetGateway {
      async init(conn: Connection) {
        await delay(20);
        return reply(`welcome ${conn.request.path}`);
      }

      @OnMessage()
      echo(text: string) {
        return reply(`Echo: ${text}`);
      }
    }
    const app = await serve(GreetGateway);
    const client = await app.ws('/greet');

    client.sendText('early');
    expect(await take(client, 2)).toEqual(['welcome /greet', 'Echo: early']);
  });

  it('ignores a binary frame when no handler takes binary, and the socket stays open', async () => {
    @WebSocket('/text-only')
    class TextGateway {
      @OnMessage()
      echo(text: string) {
        return reply(`Echo: ${text}`);
      }
    }
    const app = await serve(TextGateway);
    const client = await app.ws('/text-only');

    client.sendBinary(Buffer.from([1, 2, 3]));
    client.sendText('after');
    expect(await client.recv()).toBe('Echo: after');
    expect(app.logs.entries).toContainEqual({
      level: 'debug',
      message: 'websocket ignored a binary frame: no handler takes it',
      fields: { gateway: 'TextGateway', connection: expect.any(String) },
    });
  });
});

describe('gateway state', () => {
  it('is one gateway instance per connection: each socket counts from 1', async () => {
    let instances = 0;
    @WebSocket('/count')
    class CounterGateway {
      count = 0;

      constructor() {
        instances += 1;
      }

      @OnMessage()
      bump() {
        this.count += 1;
        return reply(String(this.count));
      }
    }
    const app = await serve(CounterGateway);
    const a = await app.ws('/count');
    const b = await app.ws('/count');

    a.sendText('+');
    expect(await a.recv()).toBe('1');
    b.sendText('+');
    expect(await b.recv()).toBe('1');
    a.sendText('+');
    a.sendText('+');
    expect(await take(a, 2)).toEqual(['2', '3']);
    b.sendText('+');
    expect(await b.recv()).toBe('2');
    expect(instances).toBe(2);
  });
});

describe('reply order', () => {
  it('answers frames in the order they were sent, whatever each async handler waits for', async () => {
    @WebSocket('/slow')
    class SlowGateway {
      @OnMessage()
      echo(text: string) {
        const n = Number(text);
        // Odd frames are answered synchronously, even ones after a wait longer than any odd one:
        // a dispatcher that ran handlers side by side would answer 1 before 0.
        if (n % 2 === 1) return reply(text);
        return delay(4 + Math.floor(Math.random() * 4)).then(() => reply(text));
      }
    }
    const app = await serve(SlowGateway);
    const client = await app.ws('/slow');

    const sent = Array.from({ length: 30 }, (_, i) => String(i));
    for (const text of sent) client.sendText(text);
    expect(await take(client, sent.length)).toEqual(sent);
  });

  it('sends the frames of one reply(a, b, c) in order, each as its own frame', async () => {
    @WebSocket('/three')
    class ThreeGateway {
      @OnMessage()
      three() {
        return reply('a', Buffer.from('b'), json({ c: true }));
      }
    }
    const app = await serve(ThreeGateway);
    const client = await app.ws('/three');

    client.sendText('go');
    expect(await take(client, 3)).toEqual(['a', Buffer.from('b'), '{"c":true}']);
  });
});

describe('@OnMessage({ binary: true })', () => {
  it('receives binary frames as a Buffer; a Buffer or Uint8Array reply arrives as a binary frame', async () => {
    const seen: unknown[] = [];
    @WebSocket('/bytes')
    class BytesGateway {
      @OnMessage({ binary: true })
      bytes(data: unknown) {
        seen.push(Buffer.isBuffer(data));
        return reply(Buffer.from(data as Buffer).reverse(), new Uint8Array([7, 8, 9]));
      }

      @OnMessage()
      text(text: string) {
        return reply(`text: ${text}`);
      }
    }
    const app = await serve(BytesGateway);
    const client = await app.ws('/bytes');

    client.sendBinary(Buffer.from([1, 2, 3, 4]));
    expect(await take(client, 2)).toEqual([Buffer.from([4, 3, 2, 1]), Buffer.from([7, 8, 9])]);
    client.sendText('not bytes');
    expect(await client.recv()).toBe('text: not bytes');
    expect(seen).toEqual([true]);
  });
});

describe("@OnMessage('event')", () => {
  @WebSocket('/lobby')
  class LobbyGateway {
    @OnMessage('join')
    join(data: { room: string }, conn: Connection) {
      return reply(json({ joined: data.room, by: conn instanceof Connection }));
    }

    @OnMessage('leave')
    leave(data: unknown) {
      return reply(json({ left: data ?? null }));
    }
  }

  it('receives the data of a JSON { event, data } frame; json(value) arrives as JSON text', async () => {
    const app = await serve(LobbyGateway);
    const client = await app.ws('/lobby');

    client.sendJson({ event: 'join', data: { room: 'kitchen' } });
    const frame = await client.recv();
    expect(frame).toBe('{"joined":"kitchen","by":true}');
    client.sendJson({ event: 'leave' });
    expect(await client.recvJson()).toEqual({ left: null });
  });

  it('calls nothing for events named after Object.prototype members, and keeps the socket open', async () => {
    const app = await serve(LobbyGateway);
    const client = await app.ws('/lobby');

    for (const event of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
      client.sendText(`{"event":${JSON.stringify(event)},"data":{"room":"x"}}`);
    }
    client.sendJson({ event: 'join', data: { room: 'after' } });
    expect(await client.recvJson()).toEqual({ joined: 'after', by: true });
    expect(app.logs.entries.filter((e) => e.level !== 'debug')).toEqual([]);
    expect(app.logs.entries.map((e) => e.message)).toContain("websocket ignored event 'constructor': no handler takes it");
  });

  it('leaves every other text frame to the @OnMessage() handler of the same gateway', async () => {
    @WebSocket('/mixed')
    class MixedGateway {
      @OnMessage('join')
      join(data: string) {
        return reply(`joined ${data}`);
      }

      @OnMessage()
      text(text: string) {
        return reply(`text ${text}`);
      }
    }
    const app = await serve(MixedGateway);
    const client = await app.ws('/mixed');

    client.sendJson({ event: 'join', data: 'a' });
    client.sendText('plain');
    client.sendJson({ event: 'unknown', data: 1 });
    expect(await take(client, 3)).toEqual(['joined a', 'text plain', 'text {"event":"unknown","data":1}']);
  });
});

describe('@OnInfo', () => {
  const conns: Connection[] = [];

  @WebSocket('/inbox')
  class InboxGateway {
    init(conn: Connection) {
      conns.push(conn);
    }

    @OnInfo({ topic: 'alert' })
    alert(msg: { text: string }, conn: Connection) {
      return reply(`alert: ${msg.text} (${conn === conns.at(-1)})`);
    }

    @OnInfo({ topic: 'slow' })
    async slow(_msg: unknown, conn: Connection) {
      await delay(10);
      conn.info({ topic: 'alert', text: 'posted by slow' });
      return reply('slow done');
    }

    @OnInfo()
    other(msg: unknown) {
      return reply(json(msg));
    }

    @OnMessage()
    async work(text: string, conn: Connection) {
      conn.info({ topic: 'alert', text: `during ${text}` });
      await delay(10);
      return reply(`done ${text}`);
    }
  }

  it('receives what conn.info(msg) posts; the first handler whose filter matches takes it', async () => {
    conns.length = 0;
    const app = await serve(InboxGateway);
    const client = await app.ws('/inbox');
    const conn = conns[0]!;

    conn.info({ topic: 'alert', text: 'fire' });
    conn.info({ topic: 'news', text: 'calm' });
    conn.info('just a string');
    // The filter looks at own fields only: an inherited topic does not match.
    conn.info(Object.create({ topic: 'alert', text: 'inherited' }) as object);
    expect(await take(client, 4)).toEqual(['alert: fire (true)', '{"topic":"news","text":"calm"}', '"just a string"', '{}']);
  });

  it('handles an info posted while a handler runs after that handler, and before the next frame', async () => {
    conns.length = 0;
    const app = await serve(InboxGateway);
    const client = await app.ws('/inbox');

    client.sendText('a');
    client.sendText('b');
    expect(await take(client, 4)).toEqual(['done a', 'alert: during a (true)', 'done b', 'alert: during b (true)']);
  });

  it('queues infos in the order they were posted, behind whatever is already waiting', async () => {
    conns.length = 0;
    const app = await serve(InboxGateway);
    const client = await app.ws('/inbox');
    const conn = conns[0]!;

    conn.info({ topic: 'slow' });
    conn.info({ topic: 'alert', text: '1' });
    conn.info({ topic: 'alert', text: '2' });
    expect(await take(client, 4)).toEqual(['slow done', 'alert: 1 (true)', 'alert: 2 (true)', 'alert: posted by slow (true)']);
  });

  it('ignores an info when no filter matches and there is no catch-all handler', async () => {
    const conns: Connection[] = [];
    @WebSocket('/picky')
    class PickyGateway {
      init(conn: Connection) {
        conns.push(conn);
      }

      @OnInfo({ topic: 'wanted' })
      wanted() {
        return reply('wanted');
      }

      @OnMessage()
      echo(text: string) {
        return reply(text);
      }
    }
    const app = await serve(PickyGateway);
    const client = await app.ws('/picky');

    conns[0]!.info({ topic: 'unwanted' });
    conns[0]!.info({ topic: 'wanted' });
    expect(await client.recv()).toBe('wanted');
    expect(app.logs.entries.map((e) => e.message)).toEqual(['websocket ignored an info message no @OnInfo filter matches: no handler takes it']);
  });
});
