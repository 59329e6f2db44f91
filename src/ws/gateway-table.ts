// Reads every gateway's metadata once at bootstrap, validates it, and compiles what the upgrade
// handler and the per-connection dispatcher need: a path matcher and handler lookups.
import { match, type MatchFunction } from 'path-to-regexp';
import type { Middleware } from 'koa';
import { ConfigError, describeValue } from '../app/errors.js';
import { allowedOrigins } from '../http/origin.js';
import type { Class } from '../di/token.js';
import { providerClass } from '../di/provider.js';
import type { LoadedModule } from '../app/module.js';
import { metadata } from '../app/metadata.js';
import type { Security } from '../http/security.js';
import { fallbackFor } from '../http/fallback.js';
import { requireMiddleware, requireSecurity } from '../http/pipeline-options.js';
import { pathShape } from '../http/route-table.js';
import type { PerMessageDeflateOptions } from 'ws';
import { compressionOf } from './compression.js';
import type { RateLimit, WebSocketOptions } from './decorators.js';
import { EventInputs } from './event-input.js';
import { requireSchema } from '../validation/validate.js';

export interface InfoHandler {
  handlerName: string;
  filter?: Readonly<Record<string, unknown>>;
}

export interface GatewayDefinition {
  gateway: Class;
  path: string;
  /** The upgrade path's parameters, or false when the path is not this gateway's. */
  match: (path: string) => { params: Record<string, string> } | false;
  security: Security;
  middleware: readonly Middleware[];
  /** Origins accepted besides the gateway's own (see checkOrigin in upgrade.ts), or '*': any. */
  origins: ReadonlySet<string> | '*';
  maxPayload: number;
  maxFragments: number;
  /** ws's perMessageDeflate setting (compression.ts); false: off. */
  compression: PerMessageDeflateOptions | false;
  heartbeat: number;
  idleTimeout: number;
  maxBufferedBytes: number;
  drainTimeout: number;
  bufferedBytesCap: number;
  rateLimit?: RateLimit;
  text?: string;
  binary?: string;
  /** Event name → handler name. A Map, so `__proto__` or `toString` can never reach a prototype. */
  events: ReadonlyMap<string, string>;
  /** The events' `data` schemas (event-input.ts); absent when the gateway has none. */
  inputs?: EventInputs;
  infos: readonly InfoHandler[];
  hasInit: boolean;
  hasTerminate: boolean;
  fallback?: Class;
}

const MiB = 1024 * 1024;
const MAX_TIMER_MS = 2 ** 31 - 1;

interface GatewaySource {
  module: Class;
  gateways: readonly Class[];
  fallback?: Class;
  /** Classes listed elsewhere (controllers, providers): they must not carry gateway decorators. */
  others: readonly Class[];
}

export function buildGatewayTable(modules: readonly LoadedModule[]): GatewayDefinition[] {
  const definitions: GatewayDefinition[] = [];
  const byPath = new Map<string, GatewayDefinition>();
  const sources: GatewaySource[] = modules.map((mod) => ({
    module: mod.module,
    gateways: mod.gateways,
    fallback: mod.fallback,
    others: [...mod.controllers, ...mod.providers.flatMap((p) => providerClass(p) ?? [])],
  }));
  for (const source of sources) {
    for (const cls of source.others) rejectStrayHandlers(cls, source.module);
    for (const gateway of source.gateways) {
      if (definitions.some((d) => d.gateway === gateway)) continue;
      const definition = compile(gateway, source);
      const shape = pathShape(definition.path);
      const other = byPath.get(shape);
      if (other) {
        throw new ConfigError(
          `Duplicate gateway path: ${other.gateway.name} on ${other.path} and ${gateway.name} on ${definition.path} match the same ` +
            `upgrades (paths match whatever their case, trailing slash or parameter names), so ${gateway.name} could never be reached. ` +
            `Give each its own path.`,
        );
      }
      byPath.set(shape, definition);
      definitions.push(definition);
    }
  }
  return definitions;
}

function compile(gateway: unknown, source: GatewaySource): GatewayDefinition {
  if (typeof gateway !== 'function') {
    throw new ConfigError(`${source.module.name} lists ${String(gateway)} in gateways; list gateway classes only.`);
  }
  const cls = gateway as Class;
  const record = metadata.getGateway(cls);
  if (!record) {
    throw new ConfigError(`${cls.name} is listed in ${source.module.name}.gateways but has no @WebSocket decorator: add @WebSocket('/path').`);
  }
  const { path } = record;
  const options = record.options as WebSocketOptions;
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw new ConfigError(`${cls.name}: @WebSocket path ${JSON.stringify(path)} must start with '/'.`);
  }
  const proto = cls.prototype as Record<string, unknown>;
  const methodOf = (name: string): string => {
    if (typeof proto[name] !== 'function') throw new ConfigError(`${cls.name}.${name}: gateway decorators must decorate instance methods.`);
    return name;
  };

  // None is fine: a push-only gateway (a feed, notifications) ignores what clients send.
  const handlers = metadata.getMessageHandlers(cls);
  let text: string | undefined;
  let binary: string | undefined;
  const events = new Map<string, string>();
  const inputs = new EventInputs(cls.name);
  for (const handler of handlers) {
    const name = methodOf(handler.handlerName);
    const duplicate = (what: string) =>
      new ConfigError(`${cls.name}.${name}: another method already handles ${what}; keep one @OnMessage per kind of frame.`);
    if (handler.kind !== 'event' && handler.data !== undefined) {
      throw new ConfigError(
        `${cls.name}.${name}: a data schema validates JSON events, and @OnMessage(${handler.kind === 'binary' ? '{ binary: true }' : ''}) takes raw ${handler.kind} frames. ` +
          `Use @OnMessage('event', { data }) for {"event", "data"} frames, or check the frame inside the handler.`,
      );
    }
    if (handler.kind === 'text') {
      if (text) throw duplicate('text frames');
      text = name;
    } else if (handler.kind === 'binary') {
      if (binary) throw duplicate('binary frames');
      binary = name;
    } else {
      const event = handler.event ?? '';
      if (!event) throw new ConfigError(`${cls.name}.${name}: @OnMessage('') needs an event name.`);
      if (events.has(event)) throw duplicate(`event '${event}'`);
      events.set(event, name);
      if (handler.data !== undefined) inputs.add(name, event, requireSchema(handler.data, `${cls.name}.${name} (@OnMessage('${event}') data)`));
    }
  }

  let matchPath: MatchFunction<Record<string, string | string[]>>;
  try {
    matchPath = match(path, { decode: safeDecode });
  } catch (error) {
    throw new ConfigError(`${cls.name}: @WebSocket path ${path} is not a valid path pattern (${(error as Error).message}).`);
  }
  const matcher: GatewayDefinition['match'] = (requested) => {
    const found = matchPath(requested);
    return found && { params: joinWildcards(found.params) };
  };

  return {
    gateway: cls,
    path,
    match: matcher,
    security: requireSecurity(options.security ?? false, `${cls.name} (@WebSocket security)`),
    middleware: requireMiddleware(options.middleware ?? [], `${cls.name} (@WebSocket middleware)`),
    // Unset: the gateway's own origin only.
    origins: options.origins === undefined ? new Set() : allowedOrigins(options.origins, `${cls.name}: @WebSocket origins`),
    maxPayload: positive(options.maxPayload, MiB, cls, 'maxPayload'),
    maxFragments: maxFragmentsOf(options.maxFragments, cls),
    compression: compressionOf(options.compression, cls),
    heartbeat: positive(options.heartbeat, 30_000, cls, 'heartbeat'),
    idleTimeout: positive(options.idleTimeout, 0, cls, 'idleTimeout'),
    ...slowConsumerOf(options, cls),
    rateLimit: rateLimitOf(options.rateLimit, cls),
    text,
    binary,
    events,
    ...(inputs.size > 0 ? { inputs } : {}),
    infos: metadata.getInfoHandlers(cls).map((h) => ({ handlerName: methodOf(h.handlerName), filter: h.filter })),
    hasInit: typeof proto.init === 'function',
    hasTerminate: typeof proto.terminate === 'function',
    fallback: fallbackFor(cls, source.fallback),
  };
}

/** The first @OnInfo whose filter `message` matches. A loop, not find(): it runs per delivery. */
export function infoHandlerFor(definition: GatewayDefinition, message: unknown): InfoHandler | undefined {
  for (const info of definition.infos) if (matches(message, info.filter)) return info;
  return undefined;
}

/** Every field of the filter is an own field of the message with the same value. */
function matches(message: unknown, filter: Readonly<Record<string, unknown>> | undefined): boolean {
  if (!filter) return true;
  if (typeof message !== 'object' || message === null) return false;
  for (const key of Object.keys(filter)) {
    if (!Object.hasOwn(message, key) || (message as Record<string, unknown>)[key] !== filter[key]) return false;
  }
  return true;
}

/** A controller or provider with gateway decorators would never receive a frame: say so. */
function rejectStrayHandlers(cls: Class, module: Class): void {
  if (metadata.getGateway(cls) || metadata.getMessageHandlers(cls).length || metadata.getInfoHandlers(cls).length) {
    throw new ConfigError(
      `${cls.name} has @WebSocket/@OnMessage/@OnInfo but is not listed in ${module.name}.gateways: ` +
        `decorate it with @WebSocket('/path') and list it in gateways.`,
    );
  }
}

function positive(value: number | undefined, fallback: number, cls: Class, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) throw new ConfigError(`${cls.name}: @WebSocket ${name} must be a number ≥ 0, got ${value}.`);
  return value;
}

/**
 * ws's own limit (its default 16 384). Not 0, which ws reads as no limit: a message of 1-byte
 * fragments under a 1 MiB maxPayload would be a million buffers held at once.
 */
function maxFragmentsOf(value: unknown, cls: Class): number {
  if (value === undefined) return 16_384;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new ConfigError(
      `${cls.name}: @WebSocket maxFragments must be a whole number ≥ 1, got ${describeValue(value)}; ` +
        `it is how many frames one message may arrive in (default 16 384), e.g. maxFragments: 65_536.`,
    );
  }
  return value;
}

/** The three numbers of the slow-consumer policy (see WebSocketOptions.maxBufferedBytes). */
function slowConsumerOf(options: WebSocketOptions, cls: Class): Pick<GatewayDefinition, 'maxBufferedBytes' | 'drainTimeout' | 'bufferedBytesCap'> {
  const maxBufferedBytes = positive(options.maxBufferedBytes, MiB, cls, 'maxBufferedBytes');
  const bufferedBytesCap = positive(options.bufferedBytesCap, 16 * maxBufferedBytes, cls, 'bufferedBytesCap');
  if (bufferedBytesCap < maxBufferedBytes) {
    throw new ConfigError(
      `${cls.name}: @WebSocket bufferedBytesCap (${bufferedBytesCap}) is below maxBufferedBytes (${maxBufferedBytes}): ` +
        `the cap is the hard limit over the soft one, so make it at least as large.`,
    );
  }
  const drainTimeout = positive(options.drainTimeout, 10_000, cls, 'drainTimeout');
  // Past this, setTimeout fires after 1 ms instead: every burst would close its socket.
  if (drainTimeout > MAX_TIMER_MS) {
    throw new ConfigError(`${cls.name}: @WebSocket drainTimeout must be at most ${MAX_TIMER_MS} ms (setTimeout's limit), got ${drainTimeout}.`);
  }
  return { maxBufferedBytes, drainTimeout, bufferedBytesCap };
}

function rateLimitOf(rateLimit: unknown, cls: Class): RateLimit | undefined {
  if (rateLimit === undefined) return undefined;
  const { messages, per } = (rateLimit ?? {}) as Partial<Record<keyof RateLimit, unknown>>;
  const wrong = (what: string) =>
    new ConfigError(`${cls.name}: @WebSocket rateLimit ${what}; write e.g. rateLimit: { messages: 100, per: 1_000 } (100 messages a second).`);
  if (typeof rateLimit !== 'object' || rateLimit === null || Array.isArray(rateLimit)) throw wrong(`must be an object, got ${describeValue(rateLimit)}`);
  for (const key of Object.keys(rateLimit)) if (key !== 'messages' && key !== 'per') throw wrong(`has no option '${key}'`);
  if (typeof messages !== 'number' || !Number.isSafeInteger(messages) || messages < 1) {
    throw wrong(`.messages must be a whole number ≥ 1, got ${describeValue(messages)}`);
  }
  if (typeof per !== 'number' || !Number.isFinite(per) || per <= 0) throw wrong(`.per must be a number of milliseconds > 0, got ${describeValue(per)}`);
  return { messages, per };
}

/** Malformed percent-encoding in a path is kept as it is rather than thrown mid-upgrade. */
function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/**
 * Path parameters as strings, as @koa/router gives an HTTP route's `ctx.params`: path-to-regexp
 * returns a wildcard's (`*rest`) segments as an array, joined here by '/'.
 */
function joinWildcards(params: Partial<Record<string, string | string[]>>): Record<string, string> {
  const entries = Object.entries(params) as [string, string | string[]][];
  if (!entries.some(([, value]) => Array.isArray(value))) return params as Record<string, string>;
  // fromEntries defines keys, so even a parameter named `__proto__` stays a key.
  return Object.fromEntries(entries.map(([name, value]) => [name, Array.isArray(value) ? value.join('/') : value]));
}
