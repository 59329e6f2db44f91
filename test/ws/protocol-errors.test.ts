// Frames refused at the edge, before any handler: what cannot be parsed for a JSON handler or is
// not UTF-8 closes with 1007, what passes maxPayload with 1009.
import { describe, expect, it } from 'vitest';
import { Module, OnMessage, WebSocket, json, reply, type Class } from 'vela';
import { startTestApp } from 'vela/testing';

async function serve(...gateways: Class[]) {
  @Module({ gateways })
  class AppModule {}
  return startTestApp(AppModule);
}

const calls: unknown[] = [];

@WebSocket('/events')
class EventsGateway {
  @OnMessage('join')
  join(data: unknown) {
    calls.push(data);
    return reply(json({ joined: data }));
  }
}

describe('1007: a frame a JSON handler cannot read', () => {
  const frames = {
    'not JSON': 'hello',
    'truncated JSON': '{"event":"join"',
    'a JSON array': '["join", 1]',
    'a JSON string': '"join"',
    'JSON null': 'null',
    'an object without event': '{"type":"join","data":1}',
    'an event that is not a string': '{"event":5,"data":1}',
  };

  for (const [what, frame] of Object.entries(frames)) {
    it(`closes with 1007 on ${what}, when the gateway has only event handlers`, async () => {
      calls.length = 0;
      const app = await serve(EventsGateway);
      const client = await app.ws('/events');

      client.sendText(frame);
      expect(await client.closed).toEqual({ code: 1007, reason: 'expected JSON {"event": name, "data": value}' });
      expect(calls).toEqual([]);
      expect(app.logs.entries).toEqual([
        {
          level: 'warn',
          message: 'websocket frame is not a JSON event',
          fields: { gateway: 'EventsGateway', connection: expect.any(String), frame },
        },
      ]);
    });
  }

  it('shows at most 80 characters of the frame in the log', async () => {
    const app = await serve(EventsGateway);
    const client = await app.ws('/events');

    client.sendText('x'.repeat(500));
    expect((await client.closed).code).toBe(1007);
    expect(app.logs.entries[0]!.fields.frame).toBe(`${'x'.repeat(80)}…`);
  });

  it('closes with 1007 on a text frame that is not UTF-8 (ws checks it)', async () => {
    @WebSocket('/text')
    class TextGateway {
      @OnMessage()
      echo(text: string) {
        calls.push(text);
        return reply(text);
      }
    }
    calls.length = 0;
    const app = await serve(TextGateway);
    const client = await app.ws('/text');

    client.raw.send(Buffer.from([0xff, 0xfe]), { binary: false });
    expect((await client.closed).code).toBe(1007);
    expect(calls).toEqual([]);
    expect(app.logs.entries).toContainEqual({
      level: 'warn',
      message: 'websocket closed on a protocol error',
      fields: { gateway: 'TextGateway', connection: expect.any(String), error: 'Invalid WebSocket frame: invalid UTF-8 sequence' },
    });
  });
});

describe('1009: maxPayload', () => {
  @WebSocket('/small', { maxPayload: 1024 })
  class SmallGateway {
    @OnMessage({ binary: true })
    bytes(data: Buffer) {
      return reply(`got ${data.length}`);
    }

    @OnMessage()
    text(text: string) {
      return reply(`got ${text.length}`);
    }
  }

  it('takes a frame of exactly maxPayload bytes', async () => {
    const app = await serve(SmallGateway);
    const client = await app.ws('/small');

    client.sendText('x'.repeat(1024));
    expect(await client.recv()).toBe('got 1024');
    client.sendBinary(Buffer.alloc(1024));
    expect(await client.recv()).toBe('got 1024');
  });

  for (const [kind, frame] of [
    ['text', 'x'.repeat(2048)],
    ['binary', Buffer.alloc(2048)],
  ] as const) {
    it(`closes with 1009 on a larger ${kind} frame`, async () => {
      const app = await serve(SmallGateway);
      const client = await app.ws('/small');

      if (typeof frame === 'string') client.sendText(frame);
      else client.sendBinary(frame);
      expect((await client.closed).code).toBe(1009);
      expect(app.logs.entries).toContainEqual({
        level: 'warn',
        message: 'websocket closed on a protocol error',
        fields: { gateway: 'SmallGateway', connection: expect.any(String), error: 'Max payload size exceeded' },
      });
    });
  }
});
