// The `vela` package, grouped by concept in the order a request meets them. Importing it loads
// reflect-metadata, which the decorators need.
import 'reflect-metadata';

// The app: bootstrap, modules, and the errors it refuses to start with.
export { bootstrap } from './app/application.js';
export type { App, BootstrapOptions } from './app/application.js';
export type { ServerTimeouts } from './app/server.js';
export type { MetricsOptions } from './telemetry/metrics-options.js';
export type { PrometheusReader } from './telemetry/prometheus.js';
export { Module } from './app/module.js';
export type { ModuleOptions } from './app/module.js';
export { ConfigError } from './app/errors.js';
export { StartupError } from './app/lifecycle.js';
export type { OnInit, OnClose } from './app/lifecycle.js';
export type { HealthCheck, HealthOptions, HealthState } from './app/health-options.js';

// Dependency injection.
export { Inject, Injectable } from './di/decorators.js';
export { InjectionToken } from './di/token.js';
export type { Class, Token } from './di/token.js';
export type { Provider, ValueProvider, ClassProvider, FactoryProvider } from './di/provider.js';

// Logging.
export { LOGGER } from './logging/logger.js';
export { consoleLogger } from './logging/console-logger.js';
export type { Logger, LogFields, LogLevel } from './logging/logger.js';
export { addLogFields, wantsLogScope } from './logging/log-context.js';

// HTTP: controllers, their results and the handlers that render them, errors, security.
export type { Context, Middleware } from 'koa';
export { Controller, Route } from './http/decorators.js';
export type { ControllerOptions, RouteOptions, RouteDecorator, HttpMethod } from './http/decorators.js';
export type { Schema, Infer, Valid, InputSchemas } from './validation/schema.js';
export type { Issue } from './validation/validate.js';
export { InvalidRequestError } from './http/route-input.js';
export type { RequestIssue, RequestPart } from './http/route-input.js';
export { FallbackController } from './http/fallback.js';
export type { Fallback } from './http/fallback.js';
export { json, status, redirect, ok, view, sendfile, isTagged } from './http/results.js';
export type {
  Result,
  JsonOptions,
  StatusOptions,
  RedirectOptions,
  JsonResult,
  StatusResult,
  RedirectResult,
  OkResult,
  ViewResult,
  OkOptions,
  ViewOptions,
  SendfileResult,
  SendfileOptions,
} from './http/results.js';
export { HandlerRegistry } from './http/handler-registry.js';
export type { ResultHandler } from './http/handler-registry.js';
export { HttpError } from './http/http-error.js';
export type { HttpErrorOptions } from './http/http-error.js';
export type { Security, SecurityOutcome } from './http/security.js';
export { sameOrigin } from './http/origin.js';

// Views and static files.
export { ViewNotFoundError } from './views/view-engine.js';
export type { ViewEngine } from './views/view-engine.js';
export { liquidEngine } from './views/liquid-engine.js';
export type { LiquidEngineOptions } from './views/liquid-engine.js';
export type { ViewsOptions } from './views/view-handlers.js';
export type { StaticRoute } from './files/static-routes.js';

// WebSocket gateways.
export { WebSocket, OnMessage, OnInfo } from './ws/decorators.js';
export type { WebSocketOptions, EventOptions, EventDecorator } from './ws/decorators.js';
export type { CompressionOptions } from './ws/compression.js';
export { Connection } from './ws/connection.js';
export type { CloseReason, ConnectionRequest } from './ws/connection.js';
export { reply, stop, HEARTBEAT_PING, HEARTBEAT_PONG } from './ws/frames.js';
export type { Frame, ReplyResult, StopResult } from './ws/frames.js';

// API documents: OpenAPI 3.1 for the routes, AsyncAPI 3.0 for the gateways (bootstrap's `docs`, `vela docs`).
export { apiDocuments } from './docs/documents.js';
export type { ApiDocuments } from './docs/documents.js';
export type { DocsOptions, DocsInfo, SecurityScheme } from './docs/docs-options.js';

// Requests with answers, both ways: ack() and WsError answer a client's; conn.request asks the client.
export { ack } from './ws/frames.js';
export type { AckResult } from './ws/frames.js';
export { WsError } from './ws/ws-error.js';
export type { RequestFn, RequestOptions } from './ws/server-requests.js';
export type { RequestsOptions } from './ws/requests.js';
export type { AnswerStore, Claim } from './pubsub/answer-store.js';
export { MemoryAnswerStore } from './pubsub/answer-store.js';
export type { MemoryAnswerStoreOptions } from './pubsub/answer-store.js';

// Pub/sub between sessions and nodes, and Comms to reach a session from anywhere.
export { PubSub } from './pubsub/pubsub.js';
export type { PubSubListener, Subscription } from './pubsub/pubsub.js';
export { PubSubEncodingError } from './pubsub/encoding-error.js';
export type { PubSubMessage, Envelope } from './pubsub/message.js';
export type { PubSubAdapter, PubSubNode } from './pubsub/adapter.js';
export type { ChannelOptions, HistoryOptions, JoinResult, PubSubHistory } from './pubsub/history.js';
export { memoryPubSub, MemoryBus } from './pubsub/memory-adapter.js';
export type { MemoryPubSubOptions } from './pubsub/memory-adapter.js';
export { Comms } from './pubsub/comms.js';

// Presence: who is in a channel, on every node, with diffs broadcast as `presence_diff` messages.
export { Presence } from './presence/presence.js';
export { PRESENCE_DIFF } from './presence/tracker.js';
export type { PresenceOptions } from './presence/tracker.js';
export type { PresenceDiff, PresenceEntry, PresenceList, PresenceMeta, PresenceRow } from './presence/presence-list.js';
export type { PresenceChange, PresenceNode, PresenceStore } from './presence/presence-store.js';

// Sessions.
export { memorySessionStore, sessionMiddleware } from './session/index.js';
export type {
  Session,
  SessionStore,
  SessionData,
  SessionOptions,
  MemorySessionStore,
  MemorySessionStoreOptions,
  SaveOptions,
  SessionSecret,
} from './session/index.js';

// Redis: pub/sub and sessions across processes.
export { redisPubSub } from './redis/redis-pubsub.js';
export type { RedisPubSubOptions } from './redis/redis-pubsub.js';
export { redisSessionStore } from './redis/redis-session-store.js';
export type { RedisSessionStoreOptions } from './redis/redis-session-store.js';

// Workers: one app on every core of a machine (`vela start --workers N`), sharing pub/sub and sessions through the primary.
export { clusterPubSub } from './cluster/cluster-adapter.js';
export type { ClusterPubSubOptions } from './cluster/cluster-adapter.js';
export { clusterSessionStore } from './cluster/cluster-stores.js';
export type { ClusterPort } from './cluster/ipc.js';

// Plugins.
export { cors } from './plugins/cors.js';
export type { CorsOptions } from './plugins/cors.js';
export { correlationId } from './plugins/correlation-id.js';
export type { CorrelationIdOptions } from './plugins/correlation-id.js';
export { csrf } from './plugins/csrf.js';
export type { CsrfOptions } from './plugins/csrf.js';
