// The `vela` package. Importing it loads reflect-metadata, which the decorators need.
import 'reflect-metadata';

export { bootstrap, type App, type BootstrapOptions, type ServerTimeouts } from './application.js';
export { Module, type ModuleOptions } from './module.js';
export { Inject, Injectable } from './di/decorators.js';
export { InjectionToken, type Class, type Token } from './di/token.js';
export type { Provider, ValueProvider, ClassProvider, FactoryProvider } from './di/provider.js';
export { ConfigError } from './errors.js';
export { consoleLogger, LOGGER, type Logger, type LogFields, type LogLevel } from './logger.js';
export { addLogFields, wantsLogScope } from './log-context.js';
export { Controller, Route, type ControllerOptions, type RouteOptions, type HttpMethod } from './http/decorators.js';
export { FallbackController, type Fallback } from './http/fallback.js';
export { HttpError, type HttpErrorOptions } from './http/http-error.js';
export {
  json,
  status,
  redirect,
  isTagged,
  type Result,
  type JsonOptions,
  type StatusOptions,
  type RedirectOptions,
  type JsonResult,
  type StatusResult,
  type RedirectResult,
} from './http/results.js';
export { ok, view, type OkResult, type ViewResult, type OkOptions, type ViewOptions } from './http/results.js';
export { ViewNotFoundError, type ViewEngine } from './views/view-engine.js';
export { liquidEngine, type LiquidEngineOptions } from './views/liquid-engine.js';
export type { ViewsOptions } from './views/view-handlers.js';
export { sendfile, type SendfileResult, type SendfileOptions } from './http/results.js';
export { sameOrigin } from './http/origin.js';
export type { StaticRoute } from './files/static-routes.js';
export { HandlerRegistry, type ResultHandler } from './http/handler-registry.js';
export type { Security, SecurityOutcome } from './http/security.js';
export type { Context, Middleware } from 'koa';
export { WebSocket, OnMessage, OnInfo, type WebSocketOptions } from './ws/decorators.js';
export { Connection, type CloseReason, type ConnectionRequest } from './ws/connection.js';
export { reply, stop, type Frame, type ReplyResult, type StopResult } from './ws/frames.js';
export { HEARTBEAT_PING, HEARTBEAT_PONG } from './ws/frames.js';
export { PubSub, type PubSubListener } from './pubsub/pubsub.js';
export { PubSubEncodingError } from './pubsub/encoding-error.js';
export type { PubSubMessage, Envelope } from './pubsub/message.js';
export type { PubSubAdapter, PubSubNode } from './pubsub/adapter.js';
export { memoryPubSub, MemoryBus, type MemoryPubSubOptions } from './pubsub/memory-adapter.js';
export { Comms } from './comms.js';
export {
  memorySessionStore,
  sessionMiddleware,
  type Session,
  type SessionStore,
  type SessionData,
  type SessionOptions,
  type MemorySessionStore,
  type MemorySessionStoreOptions,
  type SaveOptions,
  type SessionSecret,
} from './session/index.js';
export { redisPubSub, type RedisPubSubOptions } from './redis/redis-pubsub.js';
export { redisSessionStore, type RedisSessionStoreOptions } from './redis/redis-session-store.js';
export { cors, type CorsOptions } from './plugins/cors.js';
export { correlationId, type CorrelationIdOptions } from './plugins/correlation-id.js';
export { csrf, type CsrfOptions } from './plugins/csrf.js';
