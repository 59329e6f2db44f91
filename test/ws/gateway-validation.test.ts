// Every gateway misconfiguration fails bootstrap, before the port opens, with a ConfigError naming
// the class, the member and the fix.
import { describe, expect, it } from 'vitest';
import {
  Controller,
  Injectable,
  InjectionToken,
  Module,
  OnInfo,
  OnMessage,
  Route,
  WebSocket,
  json,
  type Class,
} from 'vela';
import { startTestApp } from 'vela/testing';
import { bootError } from '../support/boot-error.js';
import { echoGateway } from '../fixtures/gateways.js';

async function gatewaysError(...gateways: Class[]): Promise<string> {
  @Module({ gateways })
  class AppModule {}
  return (await bootError(AppModule)).message;
}

describe('a gateway class', () => {
  it('may have no @OnMessage handler (push-only)', async () => {
    @WebSocket('/feed')
    class FeedGateway {
      @OnInfo()
      info() {}
    }
    @Module({ gateways: [FeedGateway] })
    class AppModule {}

    await expect(startTestApp(AppModule)).resolves.toBeDefined();
  });

  it('needs @WebSocket when listed in gateways', async () => {
    class PlainClass {
      @OnMessage()
      echo() {}
    }
    @Module({ gateways: [PlainClass] })
    class AppModule {}

    expect((await bootError(AppModule)).message).toBe(
      "PlainClass is listed in AppModule.gateways but has no @WebSocket decorator: add @WebSocket('/path').",
    );
  });

  it('needs a path that starts with /', async () => {
    expect(await gatewaysError(echoGateway('ws'))).toBe(`EchoGateway: @WebSocket path "ws" must start with '/'.`);
  });

  it('takes one @OnMessage per kind of frame', async () => {
    @WebSocket('/twice')
    class TwiceGateway {
      @OnMessage()
      first() {}

      @OnMessage()
      second() {}
    }

    expect(await gatewaysError(TwiceGateway)).toBe(
      'TwiceGateway.second: another method already handles text frames; keep one @OnMessage per kind of frame.',
    );
  });

  it('takes one handler per event', async () => {
    @WebSocket('/events')
    class EventsGateway {
      @OnMessage('join')
      join() {}

      @OnMessage('join')
      joinAgain() {}
    }

    expect(await gatewaysError(EventsGateway)).toBe(
      "EventsGateway.joinAgain: another method already handles event 'join'; keep one @OnMessage per kind of frame.",
    );
  });
});

describe('gateway paths', () => {
  it('rejects two gateways on the same path', async () => {
    const first = echoGateway('/chat');
    @WebSocket('/chat')
    class OtherChatGateway {
      @OnMessage()
      echo() {}
    }

    expect(await gatewaysError(first, OtherChatGateway)).toBe(
      'Duplicate gateway path: EchoGateway on /chat and OtherChatGateway on /chat match the same upgrades (paths match whatever ' +
        'their case, trailing slash or parameter names), so OtherChatGateway could never be reached. Give each its own path.',
    );
  });

  it('rejects two paths that differ only in parameter names', async () => {
    @WebSocket('/rooms/:a')
    class RoomsA {
      @OnMessage()
      echo() {}
    }
    @WebSocket('/rooms/:b')
    class RoomsB {
      @OnMessage()
      echo() {}
    }

    expect(await gatewaysError(RoomsA, RoomsB)).toMatch(/^Duplicate gateway path: RoomsA on \/rooms\/:a and RoomsB on \/rooms\/:b match the same upgrades/);
  });

  it('rejects two paths that differ only in case or a trailing slash, as the matcher ignores both', async () => {
    for (const path of ['/Chat', '/chat/', '/CHAT/']) {
      @WebSocket(path)
      class ShadowedGateway {}
      expect(await gatewaysError(echoGateway('/chat'), ShadowedGateway)).toMatch(
        new RegExp(`^Duplicate gateway path: EchoGateway on /chat and ShadowedGateway on ${path} match the same upgrades`),
      );
    }
  });

  it('accepts one gateway listed by two modules', async () => {
    const shared = echoGateway('/shared');
    @Module({ gateways: [shared] })
    class ChatModule {}
    @Module({ imports: [ChatModule], gateways: [shared] })
    class AppModule {}

    await expect(startTestApp(AppModule)).resolves.toBeDefined();
  });
});

describe('gateway decorators on other classes', () => {
  it('rejects @OnMessage on a class listed in controllers', async () => {
    @Controller()
    class HybridController {
      @Route('/page')
      page() {
        return json({});
      }

      @OnMessage()
      echo() {}
    }
    @Module({ controllers: [HybridController] })
    class AppModule {}

    expect((await bootError(AppModule)).message).toBe(
      "HybridController has @WebSocket/@OnMessage/@OnInfo but is not listed in AppModule.gateways: decorate it with @WebSocket('/path') and list it in gateways.",
    );
  });

  it('rejects @OnInfo on a class listed in providers, also as useClass', async () => {
    class Listener {
      @OnInfo()
      info() {}
    }
    @Module({ providers: [Listener] })
    class AppModule {}
    @Module({ providers: [{ provide: new InjectionToken('listener'), useClass: Listener }] })
    class TokenModule {}

    const message =
      "Listener has @WebSocket/@OnMessage/@OnInfo but is not listed in AppModule.gateways: decorate it with @WebSocket('/path') and list it in gateways.";
    expect((await bootError(AppModule)).message).toBe(message);
    expect((await bootError(TokenModule)).message).toBe(message.replace('AppModule', 'TokenModule'));
  });
});

describe('gateway dependencies', () => {
  it("names the gateway's dependency path when a constructor parameter is not provided", async () => {
    class MissingStore {}
    @WebSocket('/needs')
    class NeedsGateway {
      constructor(readonly store: MissingStore) {}

      @OnMessage()
      echo() {}
    }

    expect(await gatewaysError(NeedsGateway)).toBe(
      'Cannot resolve NeedsGateway → MissingStore: MissingStore is not a provider. ' +
        'Add it to the providers of a module that bootstrap loads (and decorate it with @Injectable() if its constructor takes parameters).',
    );
  });

  it('names the path from the gateway through a provider whose own dependency is missing', async () => {
    class Clock {}
    @Injectable()
    class Store {
      constructor(readonly clock: Clock) {}
    }
    @WebSocket('/needs')
    class NeedsGateway {
      constructor(readonly store: Store) {}

      @OnMessage()
      echo() {}
    }
    @Module({ providers: [Store], gateways: [NeedsGateway] })
    class AppModule {}

    expect((await bootError(AppModule)).message).toBe(
      'Cannot resolve NeedsGateway → Store → Clock: Clock is not a provider. ' +
        'Add it to the providers of a module that bootstrap loads (and decorate it with @Injectable() if its constructor takes parameters).',
    );
  });
});

describe('@WebSocket options', () => {
  for (const name of ['maxPayload', 'heartbeat', 'idleTimeout', 'maxBufferedBytes', 'drainTimeout', 'bufferedBytesCap'] as const) {
    it(`rejects a negative ${name}`, async () => {
      expect(await gatewaysError(echoGateway('/ws', { [name]: -1 }))).toBe(`EchoGateway: @WebSocket ${name} must be a number ≥ 0, got -1.`);
    });
  }

  it('rejects a drainTimeout setTimeout cannot hold', async () => {
    expect(await gatewaysError(echoGateway('/ws', { drainTimeout: 2 ** 31 }))).toBe(
      'EchoGateway: @WebSocket drainTimeout must be at most 2147483647 ms (setTimeout\'s limit), got 2147483648.',
    );
  });

  it('rejects a bufferedBytesCap below maxBufferedBytes', async () => {
    expect(await gatewaysError(echoGateway('/ws', { maxBufferedBytes: 2048, bufferedBytesCap: 1024 }))).toBe(
      'EchoGateway: @WebSocket bufferedBytesCap (1024) is below maxBufferedBytes (2048): the cap is the hard limit over the soft one, so make it at least as large.',
    );
  });

  it('rejects a maxPayload that is not a finite number', async () => {
    expect(await gatewaysError(echoGateway('/ws', { maxPayload: Number.POSITIVE_INFINITY }))).toBe(
      'EchoGateway: @WebSocket maxPayload must be a number ≥ 0, got Infinity.',
    );
  });

  it('rejects a security that is neither false nor a function', async () => {
    expect(await gatewaysError(echoGateway('/ws', { security: true as never }))).toBe(
      'EchoGateway (@WebSocket security): security must be false (public) or a function (ctx) => true | false | Result | auth object, got true.',
    );
  });

  it('rejects middleware that is not a list of functions', async () => {
    expect(await gatewaysError(echoGateway('/ws', { middleware: ['cors'] as never }))).toBe(
      'EchoGateway (@WebSocket middleware): middleware must be an array of Koa middleware functions.',
    );
  });

  it('rejects a path that is not a valid pattern', async () => {
    expect(await gatewaysError(echoGateway('/rooms/:'))).toMatch(/^EchoGateway: @WebSocket path \/rooms\/: is not a valid path pattern \(/);
  });
});
