// One trace from an HTTP request on node A, across the bus, to the deliveries on node B: the
// broadcast's PRODUCER span is the request's child, and every node's CONSUMER `deliver` span is the
// publish's child and links to it. Over a real Redis (the context in the wire envelope) and over a
// shared MemoryBus alike; a history channel's context crosses too, and a malformed one is ignored.
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { MemoryBus, Module, memoryPubSub, redisPubSub, type PubSubAdapter } from 'vela';
import { startTestApp, type TestApp } from 'vela/testing';
import { REDIS_URL, redisMissing } from '../support/redis.js';
import { rawRedis, testPrefix } from '../redis/support.js';
import { TracedModule } from './tracing-fixture.js';
import { linkedIds, parentOf, SpanKind, traceparent, useTracing } from './support.js';

const tracing = useTracing();
const TRACE_ID = '5b8efff798038103d269b633813fc60c';
const PARENT_ID = 'eee19b7ec3c1b174';

@Module({ imports: [TracedModule], channels: { 'room:1': { history: { size: 10, ttl: 60_000 } } } })
class HistoryModule {}

type Cluster = (root: typeof TracedModule) => Promise<[TestApp, TestApp]>;

const memory: Cluster = async (root) => {
  const bus = new MemoryBus();
  return Promise.all([startTestApp(root, { pubsub: memoryPubSub({ bus }) }), startTestApp(root, { pubsub: memoryPubSub({ bus }) })]);
};

function redis(keyPrefix = testPrefix()): Cluster {
  const adapter = (): PubSubAdapter => redisPubSub({ url: REDIS_URL, keyPrefix });
  return (root) => Promise.all([startTestApp(root, { pubsub: adapter() }), startTestApp(root, { pubsub: adapter() })]);
}

/** Posts a note to room 1 on `a`, within the client's trace; resolves once sockets on both nodes have it. */
async function postAcross([a, b]: [TestApp, TestApp]): Promise<void> {
  const [near, far] = await Promise.all([a.ws('/rooms/1'), b.ws('/rooms/1')]);
  // Redis carries membership with a delay; a member on B is what the test needs, not members().
  const res = await a.http.post('/api/rooms/1/notes', { text: 'hi' }, { headers: { traceparent: traceparent(TRACE_ID, PARENT_ID) } });
  expect(res.status).toBe(201);
  for (const socket of [near, far]) expect(await socket.recvJson()).toMatchObject({ event: 'note', data: { text: 'hi' }, channel: 'room:1' });
}

/** The request, publish and two deliver spans of one broadcast, checked for the shape every adapter must give. */
async function expectOneTrace(pattern: string): Promise<{ publish: ReadableSpan; delivers: ReadableSpan[] }> {
  const request = await tracing.span('POST /api/rooms/:room/notes');
  const publish = await tracing.span(`publish ${pattern}`);
  const delivers = await tracing.exporter.waitFor((span) => span.name === `deliver ${pattern}`, 2);
  expect(request.spanContext().traceId).toBe(TRACE_ID);
  expect(parentOf(request)).toBe(PARENT_ID);

  expect(publish.kind).toBe(SpanKind.PRODUCER);
  expect(publish.spanContext().traceId).toBe(TRACE_ID);
  expect(parentOf(publish)).toBe(request.spanContext().spanId);
  expect(publish.attributes).toMatchObject({
    'messaging.system': 'vela',
    'messaging.operation.type': 'send',
    'messaging.operation.name': 'publish',
    'messaging.destination.name': 'room:1',
    'messaging.destination.template': pattern,
    'vela.topic': 'note',
  });

  const publisher = publish.attributes['vela.node.id'];
  const nodes = delivers.map((span) => span.attributes['vela.node.id']);
  expect(nodes).toContain(publisher);
  expect(new Set(nodes).size).toBe(2);
  for (const deliver of delivers) {
    expect(deliver.kind).toBe(SpanKind.CONSUMER);
    expect(deliver.spanContext().traceId).toBe(TRACE_ID);
    expect(parentOf(deliver)).toBe(publish.spanContext().spanId);
    expect(linkedIds(deliver)).toEqual([publish.spanContext().spanId]);
    expect(deliver.attributes).toMatchObject({
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'deliver',
      'messaging.destination.name': 'room:1',
      'vela.members': 1,
    });
  }
  return { publish, delivers };
}

describe('trace context across nodes, over a shared MemoryBus', () => {
  it('puts the deliveries on both nodes in the trace of the request that broadcast', async () => {
    await postAcross(await memory(TracedModule));
    await expectOneTrace('room:*');
  });

  it('names spans by the declared channel key, and carries the context with a history message', async () => {
    await postAcross(await memory(HistoryModule));
    const { delivers } = await expectOneTrace('room:1');
    expect(delivers.every((span) => typeof span.attributes['vela.position'] === 'string')).toBe(true);
  });
});

describe('deliver spans', () => {
  it('are made only by the nodes with a member in the channel, though every node hears every broadcast', async () => {
    const [a, b] = await memory(TracedModule);
    const [one, two] = await Promise.all([a.ws('/rooms/1'), b.ws('/rooms/2')]);
    await a.http.post('/api/rooms/1/notes', { text: 'first' });
    await a.http.post('/api/rooms/2/notes', { text: 'second' });
    expect(await one.recvJson()).toMatchObject({ channel: 'room:1' });
    // In order per sender: B has handled the first broadcast once its member has the second.
    expect(await two.recvJson()).toMatchObject({ channel: 'room:2' });
    const delivers = await tracing.exporter.waitFor((span) => span.name === 'deliver room:*', 2);
    const byChannel = (channel: string) => delivers.filter((span) => span.attributes['messaging.destination.name'] === channel);
    expect(byChannel('room:1')).toHaveLength(1);
    expect(byChannel('room:2')).toHaveLength(1);
    expect(byChannel('room:1')[0]!.attributes['vela.node.id']).not.toBe(byChannel('room:2')[0]!.attributes['vela.node.id']);
  });
});

describe.skipIf(redisMissing)('trace context across nodes, over Redis', () => {
  it('puts the deliveries on both nodes in the trace of the request, through the wire envelope', async () => {
    const keyPrefix = testPrefix();
    const wires: string[] = [];
    const watcher = rawRedis(REDIS_URL);
    await watcher.psubscribe(`${keyPrefix}:bus*`); // the bus and its shards (interest routing)
    watcher.on('pmessage', (_pattern: string, _channel: string, raw: string) => wires.push(raw));

    await postAcross(await redis(keyPrefix)(TracedModule));
    const { publish } = await expectOneTrace('room:*');
    const envelope = wires.map((raw) => JSON.parse(raw) as { e: { type: string; tc?: Record<string, string> } }).find((wire) => wire.e.type === 'message');
    expect(envelope?.e.tc).toEqual({ traceparent: traceparent(TRACE_ID, publish.spanContext().spanId) });
  });

  it('carries the context of a history message, which Redis publishes from its script', async () => {
    await postAcross(await redis()(HistoryModule));
    const { delivers } = await expectOneTrace('room:1');
    expect(delivers.every((span) => typeof span.attributes['vela.position'] === 'string')).toBe(true);
  });

  it('delivers a message whose trace context is malformed, in a trace of its own', async () => {
    const keyPrefix = testPrefix();
    const [a] = await redis(keyPrefix)(TracedModule);
    const socket = await a.ws('/rooms/1');
    const message = { channel: 'room:1', sender: null, topic: 'note', payload: 'from elsewhere' };
    const wire = { v: 2, node: 'another-node', e: { type: 'message', message, tc: { traceparent: 42 } } };
    await rawRedis(REDIS_URL).publish(`${keyPrefix}:bus`, JSON.stringify(wire));
    expect(await socket.recvJson()).toMatchObject({ event: 'note', data: 'from elsewhere' });
    const deliver = await tracing.span('deliver room:*');
    expect(parentOf(deliver)).toBeUndefined();
    expect(deliver.spanContext().traceId).not.toBe(TRACE_ID);
    expect(deliver.links).toEqual([]);
  });
});
