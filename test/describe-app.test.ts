// describeApp: what `vela routes` prints, as data, read from the metadata bootstrap reads.
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  Controller,
  Module,
  OnInfo,
  OnMessage,
  Route,
  WebSocket,
  json,
  type Context,
} from '../src/index.js';
import { describeApp, securityName } from '../src/cli/describe-app.js';

function isAdmin(ctx: Context) {
  return ctx.get('x-admin') === 'yes';
}

describe('describeApp', () => {
  it('lists routes with methods, full path, handler and security, in the order the router tries them', () => {
    @Controller({ prefix: '/api', security: isAdmin })
    class NotesController {
      @Route('/notes/:id')
      show() {
        return json({});
      }

      @Route('/notes/new', { methods: ['get', 'head'] })
      fresh() {
        return json({});
      }

      @Route('/notes', { methods: ['post'], security: false })
      create() {
        return json({});
      }

      @Route(404)
      notFound() {
        return json({});
      }
    }
    @Module({ controllers: [NotesController], static: [{ prefix: '/assets', dir: 'public' }] })
    class NotesModule {}
    @Module({ imports: [NotesModule] })
    class AppModule {}

    expect(describeApp(AppModule)).toEqual({
      routes: [
        { methods: ['POST'], path: '/api/notes', handler: 'NotesController.create', security: 'public' },
        { methods: ['GET', 'HEAD'], path: '/api/notes/new', handler: 'NotesController.fresh', security: 'isAdmin' },
        { methods: ['GET'], path: '/api/notes/:id', handler: 'NotesController.show', security: 'isAdmin' },
      ],
      statusRoutes: [{ status: 404, prefix: '/api', handler: 'NotesController.notFound' }],
      gateways: [],
      static: [{ prefix: '/assets', dir: 'public', module: 'NotesModule' }],
    });
  });

  it('lists each gateway with its callbacks in the order they run', () => {
    @WebSocket('/room/:name', { security: (ctx) => ctx.query.token === 'ok' })
    class RoomGateway {
      init() {}

      @OnMessage()
      say() {}

      @OnMessage({ binary: true })
      upload() {}

      @OnMessage('join')
      join() {}

      @OnInfo({ channel: 'room', topic: 'line' })
      hear() {}

      @OnInfo()
      anything() {}

      terminate() {}
    }
    @Module({ gateways: [RoomGateway] })
    class AppModule {}

    expect(describeApp(AppModule).gateways).toEqual([
      {
        path: '/room/:name',
        gateway: 'RoomGateway',
        security: 'security',
        handlers: ['init', 'text → say', 'binary → upload', 'event "join" → join', 'info channel=room topic=line → hear', 'info * → anything', 'terminate'],
      },
    ]);
  });

  it('throws the ConfigError bootstrap would, without starting anything', () => {
    @WebSocket('/chat')
    class ChatGateway {}
    @WebSocket('/Chat')
    class ShadowedGateway {}
    @Module({ gateways: [ChatGateway, ShadowedGateway] })
    class AppModule {}

    expect(() => describeApp(AppModule)).toThrow(ConfigError);
    expect(() => describeApp(AppModule)).toThrow(/^Duplicate gateway path: ChatGateway on \/chat and ShadowedGateway on \/Chat/);
  });
});

describe('securityName', () => {
  it('says public for false, and names a function, or says it has none', () => {
    expect(securityName(false)).toBe('public');
    expect(securityName(isAdmin)).toBe('isAdmin');
    expect(securityName([() => true][0]!)).toBe('(anonymous)');
  });
});
