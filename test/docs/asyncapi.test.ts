// The AsyncAPI 3.0 document: valid for the reference parser, for the example blog and for an app
// using every feature; every gateway, event, text or binary handler and push of the gateway table
// in it, with its payload, the answer of a request and the `vela:error` event.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Module, OnMessage, WebSocket } from '../../src/index.js';
import { loadModules } from '../../src/app/module.js';
import { metadata } from '../../src/app/metadata.js';
import type { Class } from '../../src/di/token.js';
import { apiDocuments } from '../../src/docs/documents.js';
import { buildGatewayTable } from '../../src/ws/gateway-table.js';
import type { WebSocketOptions } from '../../src/ws/decorators.js';
import { AppModule as BlogModule, BLOG_OPTIONS } from '../../example/blog/app.module.js';
import { DocsAppModule } from '../fixtures/docs-app.js';
import { asyncApiErrors, asyncOperations, deref, eventOf, template, type Doc } from './spec-support.js';

const blog = () => apiDocuments(BlogModule, BLOG_OPTIONS.docs).asyncapi as Doc;
const fixture = () => apiDocuments(DocsAppModule).asyncapi as Doc;

/**
 * Every gateway of the table has a channel on its path, and every event, text and binary handler a
 * `receive` operation on it, every declared push a `send` operation: derived from the gateway table
 * and the gateways' records, not from a list written here.
 */
function expectEveryGateway(doc: Doc, module: Class, skip: (path: string) => boolean = () => false) {
  const gateways = buildGatewayTable(loadModules(module)).filter((g) => !skip(g.path));
  expect(gateways.length).toBeGreaterThan(0);
  const operations = asyncOperations(doc);
  for (const gateway of gateways) {
    const on = operations.filter((op) => op.channel.address === template(gateway.path));
    expect(on.length, `no operation on ${gateway.path} (${gateway.gateway.name})`).toBeGreaterThan(0);
    const received = on.filter((op) => op.action === 'receive').flatMap((op) => op.messages);
    const sent = on.filter((op) => op.action === 'send').flatMap((op) => op.messages);
    for (const event of gateway.events.keys()) {
      expect(received.map((m) => eventOf(doc, m)), `event ${event} of ${gateway.gateway.name}`).toContain(event);
    }
    if (gateway.text) expect(received.map((m) => m.contentType)).toContain('text/plain');
    if (gateway.binary) expect(received.map((m) => m.contentType)).toContain('application/octet-stream');
    const pushes = (metadata.getGateway(gateway.gateway)!.options as WebSocketOptions).pushes ?? {};
    for (const event of Object.keys(pushes)) expect(sent.map((m) => eventOf(doc, m)), `push ${event} of ${gateway.gateway.name}`).toContain(event);
  }
}

describe('AsyncAPI document', () => {
  it('of the example blog is valid AsyncAPI 3.0 and has every gateway and event of its table', async () => {
    const doc = blog();
    expect(doc.asyncapi).toBe('3.0.0');
    expect(doc.info).toEqual({ title: 'Vela blog', version: '1.0.0' });
    expect(await asyncApiErrors(doc)).toEqual([]);
    expectEveryGateway(doc, BlogModule);
  });

  it('of an app using every feature is valid and has every gateway, event and push of its table', async () => {
    const doc = fixture();
    expect(await asyncApiErrors(doc)).toEqual([]);
    expectEveryGateway(doc, DocsAppModule, (path) => path.includes('{'));
    // A path with an optional group is one channel per template, each with its parameters.
    expect(Object.values(doc.channels as Record<string, Doc>).filter((c) => c.title === 'LiveGateway').map((c) => [c.address, Object.keys(c.parameters)])).toEqual([
      ['/live/{channel}', ['channel']],
      ['/live/{channel}/{topic}', ['channel', 'topic']],
    ]);
  });

  it('is refused by the parser when broken, so the tests above can fail', async () => {
    const doc = fixture();
    delete doc.channels.RoomGateway.messages['event.post'];
    expect(await asyncApiErrors(doc)).not.toEqual([]);
  });

  it('writes a gateway as a channel on its path with its parameters, and its security on each operation', () => {
    const doc = fixture();
    expect(doc.channels.RoomGateway).toMatchObject({ address: '/rooms/{room}', parameters: { room: { description: expect.stringContaining(':room') } } });
    const room = asyncOperations(doc).filter((op) => op.channel === doc.channels.RoomGateway);
    expect(room.length).toBeGreaterThan(0);
    for (const op of room) expect(doc.operations[op.id].security).toEqual([{ $ref: '#/components/securitySchemes/requireToken' }]);
    expect(doc.operations['FeedGateway.hello'].security).toBeUndefined();
    expect(doc.components.securitySchemes.requireToken).toMatchObject({ type: 'http', scheme: 'custom' });
  });

  it('models an event as the frame a client sends, its data from the schema’s input side', () => {
    const doc = fixture();
    const post = deref(doc, doc.operations['RoomGateway.post'].messages[0]);
    expect(doc.operations['RoomGateway.post']).toMatchObject({ action: 'receive', summary: 'Post a message to the room' });
    expect(post.payload).toEqual({
      type: 'object',
      required: ['event', 'data'],
      properties: {
        event: { const: 'post' },
        data: { type: 'object', properties: { text: { type: 'string', maxLength: 500 } }, required: ['text'] },
        ref: expect.objectContaining({ type: 'string', maxLength: 64 }),
      },
    });
    // No data schema: only the event is required, and its data is anything.
    const leave = deref(doc, doc.operations['RoomGateway.leave'].messages[0]);
    expect(leave.name).toBe('room:leave');
    expect(leave.payload.required).toEqual(['event']);
  });

  it('gives a request its reply: the ok answer from the reply schema, or the error answer', () => {
    const doc = fixture();
    const [answer] = asyncOperations(doc).find((op) => op.id === 'RoomGateway.post')!.reply!;
    const [ok, error] = answer!.payload.oneOf as Doc[];
    expect(ok).toEqual({ type: 'object', required: ['ref', 'ok'], properties: { ref: { type: 'string' }, ok: { type: 'object', properties: { id: { type: 'integer' } }, required: ['id'] } } });
    expect(deref(doc, error!)).toMatchObject({ required: ['ref', 'error'], properties: { error: { required: ['code', 'message'], properties: { issues: { type: 'array' } } } } });
    expect(asyncOperations(doc).find((op) => op.id === 'RoomGateway.typing')!.reply).toBeUndefined();
  });

  it('sends pushes and, on a gateway that validates events, vela:error', () => {
    const doc = fixture();
    const push = deref(doc, doc.operations['RoomGateway.push.new_message'].messages[0]);
    expect(doc.operations['RoomGateway.push.new_message'].action).toBe('send');
    expect(push.payload.properties.data).toMatchObject({ type: 'object', required: ['id', 'text', 'room'] });
    const error = deref(doc, doc.operations['RoomGateway.vela-error'].messages[0]);
    expect(error.name).toBe('vela:error');
    expect(deref(doc, error.payload)).toMatchObject({
      properties: { event: { const: 'vela:error' }, data: { required: ['event', 'code', 'message'], properties: { code: { enum: ['invalid', 'internal'] } } } },
    });
    // FeedGateway validates nothing: no vela:error there.
    expect(doc.operations['FeedGateway.vela-error']).toBeUndefined();
  });

  it('writes text and binary frames as such, and marks schemas it cannot convert', () => {
    const doc = fixture();
    expect(deref(doc, doc.operations['RoomGateway.say'].messages[0])).toMatchObject({ contentType: 'text/plain', payload: { type: 'string' } });
    expect(deref(doc, doc.operations['RoomGateway.upload'].messages[0])).toMatchObject({ contentType: 'application/octet-stream', payload: { type: 'string', format: 'binary' } });
    const typing = deref(doc, doc.operations['RoomGateway.typing'].messages[0]);
    expect(typing.payload.properties.data).toEqual({ description: 'not convertible: valibot schema without ~standard.jsonSchema', 'x-vela-unconvertible': 'valibot' });
  });

  it('refuses a push that is not a Standard Schema, naming the gateway and the event', () => {
    @WebSocket('/bad', { pushes: { tick: 'number' as never } })
    class BadGateway {
      @OnMessage('x', { data: z.string() })
      x() {}
    }
    @Module({ gateways: [BadGateway] })
    class BadModule {}
    expect(() => apiDocuments(BadModule)).toThrow(/^BadGateway \(@WebSocket pushes\.tick\): 'number' is not a Standard Schema .* Pass a zod/);
  });
});
