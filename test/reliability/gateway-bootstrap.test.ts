// Reliability battery, what bootstrap makes of gateways: a gateway path another one shadows (40)
// is refused as a duplicate HTTP route is, and a push-only gateway without @OnMessage (41) boots
// and ignores what clients send it.
import { describe, expect, it } from 'vitest';
import { ConfigError, Controller, Module, OnInfo, OnMessage, PubSub, Route, WebSocket, json, reply, type Class, type Connection, type PubSubMessage } from 'vela';
import { startTestApp } from 'vela/testing';

/** The ConfigError bootstrap rejects `gateways` with. */
async function gatewaysError(...gateways: Class[]): Promise<ConfigError> {
  @Module({ gateways })
  class AppModule {}
  const error: unknown = await startTestApp(AppModule).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

function gatewayOn(path: string, name: string): Class {
  @WebSocket(path)
  class Gateway {
    @OnMessage()
    echo(text: string) {
      return reply(text);
    }
  }
  Object.defineProperty(Gateway, 'name', { value: name });
  return Gateway;
}

describe('40. shadowed gateway paths', () => {
  it('40. two gateway paths the matcher cannot tell apart (case, trailing slash, parameter names) fail bootstrap naming both classes and the fix', async () => {
    const pairs: [string, string][] = [
      ['/chat', '/Chat'],
      ['/chat', '/chat/'],
      ['/rooms/:id', '/Rooms/:name/'],
      ['/files/*path', '/FILES/*rest'],
    ];
    for (const [first, second] of pairs) {
      const error = await gatewaysError(gatewayOn(first, 'ChatGateway'), gatewayOn(second, 'ShadowGateway'));
      expect(error.message, second).toBe(
        `Duplicate gateway path: ChatGateway on ${first} and ShadowGateway on ${second} match the same upgrades ` +
          `(paths match whatever their case, trailing slash or parameter names), so ShadowGateway could never be reached. ` +
          `Give each its own path.`,
      );
    }
  });

  it('40. paths that differ in what they match still boot, and HTTP routes keep the same rule', async () => {
    @Module({ gateways: [gatewayOn('/chat', 'A'), gatewayOn('/chat/:room', 'B'), gatewayOn('/chats', 'C'), gatewayOn('/rooms/:id/log', 'D')] })
    class DistinctModule {}
    const app = await startTestApp(DistinctModule);
    const client = await app.ws('/CHAT/');
    client.sendText('hi');
    expect(await client.recv()).toBe('hi');

    @Controller()
    class PagesController {
      @Route('/about')
      about() {}

      @Route('/About/')
      aboutAgain() {}
    }
    @Module({ controllers: [PagesController] })
    class RoutesModule {}
    await expect(startTestApp(RoutesModule)).rejects.toThrow(
      'Duplicate route GET /About/: declared by PagesController.about and PagesController.aboutAgain. Remove one or change its path or methods.',
    );
  });
  it('40. a static gateway path wins over a parameter one whatever the declaration order, as HTTP routes do', async () => {
    const replyingWith = (path: string, name: string): Class => {
      @WebSocket(path)
      class Gateway {
        @OnMessage()
        who() {
          return reply(name);
        }
      }
      return Gateway;
    };
    // The parameter gateway first: declaration order used to decide, and /rooms/new was unreachable.
    @Module({ gateways: [replyingWith('/rooms/:id', 'room'), replyingWith('/rooms/new', 'new'), replyingWith('/rooms/:id/*rest', 'deep')] })
    class RoomsModule {}
    const app = await startTestApp(RoomsModule);
    const answers: string[] = [];
    for (const path of ['/rooms/new', '/rooms/42', '/rooms/42/log/today']) {
      const client = await app.ws(path);
      client.sendText('?');
      answers.push(String(await client.recv()));
      await client.close();
    }
    expect(answers).toEqual(['new', 'room', 'deep']);
  });
});

describe('41. push-only gateways', () => {
  it('41. a gateway with only init and @OnInfo boots, delivers infos and broadcasts, ignores client frames (debug line) and still answers vela:ping', async () => {
    const connections: Connection[] = [];
    @WebSocket('/notifications', { heartbeat: 0 })
    class NotificationsGateway {
      constructor(private readonly pubsub: PubSub) {}

      init(conn: Connection) {
        connections.push(conn);
        this.pubsub.join('news');
        return reply('ready');
      }

      @OnInfo({ channel: 'news' })
      news(message: PubSubMessage) {
        return reply(json({ topic: message.topic, payload: message.payload }));
      }

      @OnInfo()
      direct(message: unknown) {
        return reply(json({ direct: message }));
      }
    }
    @Module({ gateways: [NotificationsGateway] })
    class AppModule {}
    const app = await startTestApp(AppModule);

    const client = await app.ws('/notifications');
    expect(await client.recv()).toBe('ready');
    await app.pubsub.broadcast('news', 'headline', { n: 1 });
    expect(await client.recvJson()).toEqual({ topic: 'headline', payload: { n: 1 } });
    connections[0]!.info({ unread: 3 });
    expect(await client.recvJson()).toEqual({ direct: { unread: 3 } });

    // What the client sends reaches nothing; the heartbeat, answered in order, proves they were read.
    client.sendText('hello');
    client.sendBinary(Buffer.from([1, 2, 3]));
    client.sendJson({ event: 'subscribe', data: 'sports' });
    client.sendText('vela:ping');
    expect(await client.recv()).toBe('vela:pong');
    const ignored = app.logs.entries.filter((e) => e.message.startsWith('websocket ignored'));
    expect(ignored.map((e) => [e.level, e.message])).toEqual([
      ['debug', 'websocket ignored a text frame: no handler takes it'],
      ['debug', 'websocket ignored a binary frame: no handler takes it'],
      ['debug', 'websocket ignored a text frame: no handler takes it'],
    ]);
    expect(app.logs.entries.filter((e) => e.level !== 'debug')).toEqual([]);

    // Still open and subscribed.
    await app.pubsub.broadcast('news', 'headline', { n: 2 });
    expect(await client.recvJson()).toEqual({ topic: 'headline', payload: { n: 2 } });
  });
});
