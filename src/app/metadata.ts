// The one module that touches Reflect. Decorators write plain records here; bootstrap reads them.
// Keeping every key in one place means no decorator can invent its own storage (STYLE.md §3).
import 'reflect-metadata';
import type { Class, Token } from '../di/token.js';
import type { InputSchemas, Schema } from '../validation/schema.js';

const KEYS = {
  module: 'vela:module',
  injectable: 'vela:injectable',
  inject: 'vela:inject',
  controller: 'vela:controller',
  routes: 'vela:routes',
  fallback: 'vela:fallback',
  gateway: 'vela:gateway',
  messageHandlers: 'vela:message-handlers',
  infoHandlers: 'vela:info-handlers',
} as const;

/** What `@Controller()` records. */
export interface ControllerRecord {
  prefix: string;
  security: unknown;
  middleware: readonly unknown[];
}

/** What one `@Route()` records: either a path route or a status route (`@Route(404)`). */
export interface RouteRecord {
  handlerName: string;
  path: string | number;
  httpMethods?: readonly string[];
  security?: unknown;
  hasSecurity: boolean;
  /** Standard Schemas for the parts of the request this route validates. */
  input?: InputSchemas;
  /** What the route answers, by status, for the OpenAPI document (400 is added by Vela when it validates). */
  responses?: Readonly<Record<number, Schema>>;
  /** A one-line summary for the OpenAPI document. */
  summary?: string;
}

/** What `@WebSocket()` records. */
export interface GatewayRecord {
  path: string;
  options: object;
}

/** What one `@OnMessage()` records: plain text, binary, or a JSON event name. */
export interface MessageHandlerRecord {
  handlerName: string;
  kind: 'text' | 'binary' | 'event';
  event?: string;
  /** Standard Schema for the event's `data`; the handler gets its output. */
  data?: Schema;
  /** Standard Schema of the answer (`ack(value)`) when the event is sent as a request, for AsyncAPI. */
  reply?: Schema;
  /** A one-line summary for the AsyncAPI document. */
  summary?: string;
}

/** What one `@OnInfo()` records. */
export interface InfoHandlerRecord {
  handlerName: string;
  filter?: Readonly<Record<string, unknown>>;
}

function own<T>(key: string, target: object): T | undefined {
  return Reflect.getOwnMetadata(key, target) as T | undefined;
}

export const metadata = {
  setModule(target: Class, options: unknown): void {
    Reflect.defineMetadata(KEYS.module, options, target);
  },
  getModule<T>(target: Class): T | undefined {
    return own<T>(KEYS.module, target);
  },

  markInjectable(target: Class): void {
    Reflect.defineMetadata(KEYS.injectable, true, target);
  },

  /** Constructor parameter types as TypeScript emitted them (`emitDecoratorMetadata`). */
  getParamTypes(target: Class): unknown[] {
    return (Reflect.getMetadata('design:paramtypes', target) as unknown[] | undefined) ?? [];
  },
  setInjectToken(target: Class, index: number, token: Token): void {
    const tokens = new Map(own<Map<number, Token>>(KEYS.inject, target));
    tokens.set(index, token);
    Reflect.defineMetadata(KEYS.inject, tokens, target);
  },
  getInjectTokens(target: Class): ReadonlyMap<number, Token> {
    return own<Map<number, Token>>(KEYS.inject, target) ?? new Map();
  },

  setController(target: Class, record: ControllerRecord): void {
    Reflect.defineMetadata(KEYS.controller, record, target);
  },
  getController(target: Class): ControllerRecord | undefined {
    return own<ControllerRecord>(KEYS.controller, target);
  },

  /** Routes live on the class (not the prototype) so a subclass does not silently inherit them. */
  addRoute(target: Class, record: RouteRecord): void {
    const routes = own<RouteRecord[]>(KEYS.routes, target) ?? [];
    Reflect.defineMetadata(KEYS.routes, [...routes, record], target);
  },
  getRoutes(target: Class): readonly RouteRecord[] {
    return own<RouteRecord[]>(KEYS.routes, target) ?? [];
  },

  setGateway(target: Class, record: GatewayRecord): void {
    Reflect.defineMetadata(KEYS.gateway, record, target);
  },
  getGateway(target: Class): GatewayRecord | undefined {
    return own<GatewayRecord>(KEYS.gateway, target);
  },

  addMessageHandler(target: Class, record: MessageHandlerRecord): void {
    const handlers = own<MessageHandlerRecord[]>(KEYS.messageHandlers, target) ?? [];
    Reflect.defineMetadata(KEYS.messageHandlers, [...handlers, record], target);
  },
  getMessageHandlers(target: Class): readonly MessageHandlerRecord[] {
    return own<MessageHandlerRecord[]>(KEYS.messageHandlers, target) ?? [];
  },

  addInfoHandler(target: Class, record: InfoHandlerRecord): void {
    const handlers = own<InfoHandlerRecord[]>(KEYS.infoHandlers, target) ?? [];
    Reflect.defineMetadata(KEYS.infoHandlers, [...handlers, record], target);
  },
  getInfoHandlers(target: Class): readonly InfoHandlerRecord[] {
    return own<InfoHandlerRecord[]>(KEYS.infoHandlers, target) ?? [];
  },

  setFallback(target: Class, fallback: Class): void {
    Reflect.defineMetadata(KEYS.fallback, fallback, target);
  },
  getFallback(target: Class): Class | undefined {
    return own<Class>(KEYS.fallback, target);
  },
};
