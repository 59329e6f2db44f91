// The AsyncAPI 3.0 document of an app's gateways, from the gateway table bootstrap builds: one
// channel per gateway path, a `receive` operation per thing a client may send it (each
// `@OnMessage` event, text frames, binary frames), a `send` operation per event it declares it
// pushes (`@WebSocket(path, { pushes })`) and for `vela:error` when it validates plain events, and
// a `reply` for events that declare what a request is answered with. The event schemas are read
// from the same records the table was built from (`@OnMessage` options), by the table's classes.
import { metadata, type MessageHandlerRecord } from '../app/metadata.js';
import type { GatewayDefinition } from '../ws/gateway-table.js';
import type { WebSocketOptions } from '../ws/decorators.js';
import type { DocsSettings } from './docs-options.js';
import { eventFrameSchema, eventIssueSchema, pushFrameSchema, requestErrorSchema, requestOkSchema, velaErrorSchema } from './envelopes.js';
import { requireSchema } from '../validation/validate.js';
import { toJsonSchema, type JsonSchema, type SchemaSide } from './json-schema.js';
import { keySafe, uniqueName } from './names.js';
import { parameterDescription, templatePaths } from './paths.js';
import { SchemaComponents } from './schema-components.js';
import { SecuritySchemes } from './security-schemes.js';

/** A message of a gateway's channel, and the operation that carries it (none for a request's answer: it is a reply). */
interface GatewayMessage {
  key: string;
  message: JsonSchema;
  operation?: { id: string; action: 'receive' | 'send'; summary?: string; reply?: string };
}

/**
 * @example
 * asyncApiDocument(buildGatewayTable(loadModules(AppModule)), settings).channels.CommentsGateway.address; // '/comments'
 */
export function asyncApiDocument(gateways: readonly GatewayDefinition[], settings: DocsSettings): JsonSchema {
  const components = new SchemaComponents();
  const security = new SecuritySchemes(settings.securitySchemes);
  const shared = new SharedShapes(components);
  const channels: Record<string, JsonSchema> = {};
  const operations: Record<string, JsonSchema> = {};
  const ids = { channels: new Set<string>(), operations: new Set<string>() };

  for (const definition of gateways) {
    const name = definition.gateway.name;
    const messages = gatewayMessages(definition, components, shared);
    const scheme = security.use(definition.security);
    for (const template of templatePaths(definition.path)) {
      const channelId = uniqueName(keySafe(name), ids.channels);
      const channel = `#/channels/${channelId}`;
      const parameters = Object.fromEntries(
        template.parameters.map((p) => [p.name, { description: parameterDescription(p) ?? `Path parameter :${p.name} of ${definition.path}.` }]),
      );
      channels[channelId] = {
        address: template.template,
        title: name,
        description: `WebSocket gateway ${name} on ${definition.path}.`,
        ...(template.parameters.length > 0 ? { parameters } : {}),
        messages: Object.fromEntries(messages.map((m) => [m.key, m.message])),
      };
      for (const { key, operation: op } of messages) {
        if (!op) continue;
        operations[uniqueName(op.id, ids.operations)] = {
          action: op.action,
          channel: { $ref: channel },
          messages: [{ $ref: `${channel}/messages/${key}` }],
          ...(op.summary ? { summary: op.summary } : {}),
          ...(op.reply ? { reply: { channel: { $ref: channel }, messages: [{ $ref: `${channel}/messages/${op.reply}` }] } } : {}),
          ...(scheme ? { security: [{ $ref: `#/components/securitySchemes/${scheme}` }] } : {}),
        };
      }
    }
  }

  const schemes = security.asyncApi();
  return {
    asyncapi: '3.0.0',
    info: settings.info,
    defaultContentType: 'application/json',
    channels,
    operations,
    components: {
      ...(Object.keys(components.schemas).length > 0 ? { schemas: components.schemas } : {}),
      ...(Object.keys(schemes).length > 0 ? { securitySchemes: schemes } : {}),
    },
  };
}

/** What one gateway receives and sends, in the order of its table entry. */
function gatewayMessages(definition: GatewayDefinition, components: SchemaComponents, shared: SharedShapes): GatewayMessage[] {
  const name = definition.gateway.name;
  const keys = new Set<string>();
  const key = (wanted: string) => uniqueName(keySafe(wanted), keys);
  const messages: GatewayMessage[] = [];
  const records = new Map(metadata.getMessageHandlers(definition.gateway).flatMap((r) => (r.kind === 'event' ? [[r.event!, r] as const] : [])));
  const receive = (id: string, summary?: string) => ({ id, action: 'receive' as const, ...(summary ? { summary } : {}) });
  const send = (id: string, summary: string) => ({ id, action: 'send' as const, summary });
  let validates = false;

  if (definition.text) {
    const message = { name: 'text', title: 'Text frame', contentType: 'text/plain', payload: { type: 'string' } };
    messages.push({ key: key('text'), message, operation: receive(`${name}.${definition.text}`, 'A text frame.') });
  }
  if (definition.binary) {
    const message = { name: 'binary', title: 'Binary frame', contentType: 'application/octet-stream', payload: { type: 'string', format: 'binary' } };
    messages.push({ key: key('binary'), message, operation: receive(`${name}.${definition.binary}`, 'A binary frame.') });
  }
  for (const [event, handlerName] of definition.events) {
    const record: MessageHandlerRecord | undefined = records.get(event);
    const where = `${name}.${handlerName} (@OnMessage('${event}')`;
    const data = record?.data === undefined ? undefined : convert(record.data, `${where} data)`, `${name}.${handlerName}.data`, 'input', components);
    validates ||= data !== undefined;
    const entry: GatewayMessage = {
      key: key(`event.${event}`),
      message: { name: event, title: `Event ${event}`, payload: eventFrameSchema(event, data) },
      operation: receive(`${name}.${handlerName}`, typeof record?.summary === 'string' ? record.summary : undefined),
    };
    messages.push(entry);
    if (record?.reply !== undefined) {
      const ok = convert(record.reply, `${where} reply)`, `${name}.${handlerName}.reply`, 'output', components);
      const answer = { name: `${event} answer`, title: `Answer to ${event}`, payload: { oneOf: [requestOkSchema(ok), shared.requestError()] } };
      entry.operation!.reply = key(`answer.${event}`);
      messages.push({ key: entry.operation!.reply, message: answer });
    }
  }
  const pushes = (metadata.getGateway(definition.gateway)?.options as WebSocketOptions | undefined)?.pushes ?? {};
  for (const [event, schema] of Object.entries(pushes)) {
    const data = convert(schema, `${name} (@WebSocket pushes.${event})`, `${name}.${event}`, 'output', components);
    const message = { name: event, title: `Event ${event}`, payload: pushFrameSchema(event, data) };
    messages.push({ key: key(`push.${event}`), message, operation: send(`${name}.push.${keySafe(event)}`, `Pushed by ${name}.`) });
  }
  if (validates) {
    const summary = 'Sent when the data of an event sent without ref did not validate; the handler was not called and the socket stays open.';
    messages.push({ key: key('vela.error'), message: shared.velaError(), operation: send(`${name}.vela-error`, summary) });
  }
  return messages;
}

function convert(schema: unknown, where: string, hint: string, side: SchemaSide, components: SchemaComponents): JsonSchema {
  return components.place(toJsonSchema(requireSchema(schema, where), side, 'draft-07'), hint);
}

/** Vela's shapes every gateway shares, defined in the components the first time one needs them. */
class SharedShapes {
  #issue?: JsonSchema;
  #requestError?: JsonSchema;
  #velaError?: JsonSchema;

  constructor(private readonly components: SchemaComponents) {}

  requestError(): JsonSchema {
    return (this.#requestError ??= this.components.define('VelaRequestError', requestErrorSchema(this.#issueRef())));
  }

  velaError(): JsonSchema {
    this.#velaError ??= this.components.define('VelaErrorEvent', velaErrorSchema(this.#issueRef()));
    return { name: 'vela:error', title: 'Invalid event data', payload: this.#velaError };
  }

  #issueRef(): JsonSchema {
    return (this.#issue ??= this.components.define('VelaEventIssue', eventIssueSchema()));
  }
}
