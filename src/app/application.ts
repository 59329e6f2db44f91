// bootstrap(AppModule): reads the module tree, validates every route and provider, builds the
// singletons, and serves them on one Koa server. Everything that can be wrong is found before
// the port opens.
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import Koa, { type Middleware } from 'koa';
import compose from 'koa-compose';
import { Container } from '../di/container.js';
import type { Provider } from '../di/provider.js';
import type { Class, Token } from '../di/token.js';
import { ConfigError, describeValue } from './errors.js';
import { errorBoundary, LOGGED } from '../http/error-boundary.js';
import { HandlerRegistry } from '../http/handler-registry.js';
import { ResultRenderer } from '../http/renderer.js';
import { buildRouteTable } from '../http/route-table.js';
import { buildStaticMounts, staticFiles } from '../files/static-routes.js';
import { clientScript, readClientScript } from '../files/client-script.js';
import { createRouter, type BodyOptions } from '../http/router.js';
import { StatusPages } from '../http/status-pages.js';
import { consoleLogger } from '../logging/console-logger.js';
import { LOGGER, type Logger } from '../logging/logger.js';
import { anyWantsLogScope, contextLogger } from '../logging/log-context.js';
import { requestScope } from '../http/request-scope.js';
import { loadModules } from './module.js';
import { Lifecycle } from './lifecycle.js';
import { healthEndpoint } from './health.js';
import { healthSettings, type HealthOptions } from './health-options.js';
import { OTHER_CHANNELS, buildChannelTable } from './channels.js';
import { createHttpServer, GracefulServer, listen, resolvePort, serverTimeouts, urlHost, type ServerTimeouts } from './server.js';
import { buildGatewayTable } from '../ws/gateway-table.js';
import { GatewayServer } from '../ws/gateway-server.js';
import { DEFAULT_JSON_DEPTH } from '../http/json-depth.js';
import { UpgradeHandler } from '../ws/upgrade.js';
import { upgradeRequired } from '../ws/upgrade-required.js';
import type { Fallback } from '../http/fallback.js';
import { ConnectionIds } from '../ws/connection-id.js';
import type { GatewayProcess } from '../ws/gateway-process.js';
import { Hub } from '../pubsub/hub.js';
import { PubSub } from '../pubsub/pubsub.js';
import type { PubSubAdapter } from '../pubsub/adapter.js';
import { memoryPubSub } from '../pubsub/memory-adapter.js';
import { MemoryAnswerStore } from '../pubsub/answer-store.js';
import { RequestMemory, requestsOptions, type RequestsOptions } from '../ws/requests.js';
import { Comms } from '../pubsub/comms.js';
import { Presence } from '../presence/presence.js';
import { PresenceTracker, type PresenceOptions } from '../presence/tracker.js';
import { memorySessionStore, sessionMiddleware, type SessionOptions } from '../session/index.js';
import { registerViewHandlers, type ViewsOptions } from '../views/view-handlers.js';
import { docsSettings, type DocsOptions } from '../docs/docs-options.js';
import { buildApiDocuments } from '../docs/documents.js';
import { serveDocs } from '../docs/serve-docs.js';
import { startMetrics, type MetricsOptions } from '../telemetry/metrics-options.js';

export interface BootstrapOptions {
  /** 0 picks a free port. Default: the `PORT` environment variable, else 8080. */
  port?: number;
  /** Interface to listen on. Default: every interface. */
  host?: string;
  /** Koa middleware run before routing, for every request (Nova's global plugins). */
  middleware?: Middleware[];
  /** Request body parsing (@koa/bodyparser options), e.g. `{ jsonLimit: '100kb' }`. Default limits: 1mb JSON, 56kb form and text. */
  body?: BodyOptions;
  /** Where Vela logs. Default: pino, JSON lines on stdout (pretty with NODE_ENV=development), level from `LOG_LEVEL`. */
  logger?: Logger;
  /**
   * One info line per HTTP request and WebSocket upgrade through `logger`: `request` with
   * `{ method, path, status, durationMs }` (and `correlationId` with the correlationId() plugin).
   * Default true. It opens no log scope by itself: see `wantsLogScope` for `addLogFields`.
   */
  requestLog?: boolean;
  /**
   * Sessions: `ctx.state.session`, also read on WebSocket upgrades (`conn.sessionId`), lazily: a
   * signed `session_id` cookie once a request reads the id or writes, a store write only on a write.
   * Default: on, with a memory store and a per-process secret. `false` turns them off.
   */
  sessions?: SessionOptions | false;
  /** Carries pub/sub and Comms between processes. Default: `memoryPubSub()`, this process only. */
  pubsub?: PubSubAdapter;
  /**
   * Requests with answers (a WebSocket event with a `ref`): `window`, how long an answer is kept to
   * answer a repeat of the request (vela/client re-sends one still unanswered after a reconnect)
   * without running its handler again, in ms. Default `{ window: 120_000 }`.
   */
  requests?: RequestsOptions;
  /** Presence: `window`, how long changes are gathered into one `presence_diff` per channel, in ms. Default `{ window: 50 }`. */
  presence?: PresenceOptions;
  /** Replace providers of the modules, e.g. a fake store in tests. */
  overrides?: Provider[];
  /** How long `close()` waits for in-flight requests and WebSocket close handshakes before cutting them, in ms. Default 10 000. */
  shutdownTimeout?: number;
  /**
   * How long the HTTP server waits on a slow client, in ms: see {@link ServerTimeouts}. Default
   * `{ headers: 10_000, request: 60_000, keepAlive: 5_000, checkInterval: 1_000 }`.
   */
  timeouts?: ServerTimeouts;
  /**
   * Templates for `ok()` and `view()`: `{ dir: 'views' }` (default, relative to the working directory),
   * `extension` (default `liquid`), or your own `engine`.
   */
  views?: ViewsOptions;
  /**
   * Serves the browser client, `vela/client`, at `GET /vela/client.js` (an ES module), so a page
   * can `import { connect } from '/vela/client.js'`. Default false.
   */
  client?: boolean;
  /**
   * Serves the API documents, built once at bootstrap: `GET <path>/openapi.json` (OpenAPI 3.1, the
   * HTTP routes) and `<path>/asyncapi.json` (AsyncAPI 3.0, the gateways). A path (`'/docs'`), or
   * `{ path, info, securitySchemes }`. Default: off.
   */
  docs?: string | DocsOptions | false;
  /**
   * Metrics through OpenTelemetry: `{ path: '/metrics' }` serves them as Prometheus text (behind
   * `security`, like a route's). Without it Vela reports to the global MeterProvider, a no-op until
   * the app registers an SDK. See docs/telemetry.md, Metrics.
   */
  metrics?: MetricsOptions;
  /**
   * A health endpoint for load balancers: `'/health'`, or `{ path, readinessDelay, timeout }`. 200
   * with the state of the pub/sub adapter, the session store and providers' `healthCheck()`; 503
   * while one is down or the app is closing. See docs/lifecycle-and-health.md.
   */
  health?: string | HealthOptions;
}

export interface App {
  /** `http://host:port`, usable by clients on this machine. */
  readonly url: string;
  readonly port: number;
  readonly koa: Koa;
  readonly server: Server;
  /** The result handler registry: `app.handlers.register('xml', fn)`. */
  readonly handlers: HandlerRegistry;
  readonly logger: Logger;
  /** Pub/sub without a connection of its own: `broadcast`, `subscribe`, `members`. */
  readonly pubsub: PubSub;
  /** Reaches clients by session id. */
  readonly comms: Comms;
  /** Presence without a connection of its own: `list`, `count`. */
  readonly presence: Presence;
  /** A singleton provider (or controller) of this app. */
  get<T>(token: Token<T>): T;
  /**
   * Stops accepting, closes every WebSocket with 1001 and awaits its `terminate`, lets in-flight
   * requests finish (both up to `shutdownTimeout`), awaits every provider's `onClose` (dependents
   * first, each up to `shutdownTimeout`), then resolves.
   */
  close(): Promise<void>;
}

/**
 * Builds and starts the app described by `root`.
 *
 * @example
 * const app = await bootstrap(AppModule, { port: 0 });
 * console.log(app.url);
 */
export async function bootstrap(root: Class, options: BootstrapOptions = {}): Promise<App> {
  const timeouts = serverTimeouts(options.timeouts);
  const { window } = requestsOptions(options.requests);
  // Wrapped once, so every line logged during a request carries its fields (a correlation id).
  // Kept apart so close() can flush the default logger's batch; an app's own logger is its own to flush.
  const defaultLogger = options.logger ? undefined : consoleLogger();
  const logger = contextLogger(options.logger ?? defaultLogger!);
  const modules = loadModules(root);
  const table = buildRouteTable(modules);
  const staticMounts = buildStaticMounts(modules);
  const client = options.client ? clientScript(readClientScript()) : undefined;
  const gatewayTable = buildGatewayTable(modules);
  const docsOptions = docsSettings(options.docs, root.name);
  const docs = docsOptions && serveDocs(buildApiDocuments(table.routes, gatewayTable, docsOptions), docsOptions, table.routes);
  const fallbacks = new Set([...table.fallbacks, ...gatewayTable.flatMap((g) => (g.fallback ? [g.fallback] : []))]);

  const handlers = HandlerRegistry.withBuiltins();
  registerViewHandlers(handlers, options.views);
  for (const mod of modules) {
    for (const [tag, handler] of Object.entries(mod.handlers)) handlers.register(tag, handler, `${mod.module.name}.handlers`);
  }

  const channels = buildChannelTable(modules);
  // In a `vela start` worker (VELA_WORKER, cluster/in-worker.ts's WORKER_ENV) the defaults are the
  // ones the workers share through the primary; loaded only there.
  const worker = process.env.VELA_WORKER ? await import('../cluster/in-worker.js') : undefined;
  const adapter = worker?.workerPubSub(options.pubsub, logger) ?? options.pubsub ?? memoryPubSub();
  if (channels.hasHistory && !adapter.history) {
    throw new ConfigError(`@Module({ channels }) asks for history, and the '${adapter.name}' pub/sub adapter keeps none: use memoryPubSub() or redisPubSub(), or remove the channels' history.`);
  }
  const ids = new ConnectionIds();
  const health = healthSettings(options.health);
  const taken = [
    ...table.routes.map((route) => ({ path: route.path, name: `${route.controller.name}.${route.handlerName}` })),
    ...gatewayTable.map((gateway) => ({ path: gateway.path, name: `the gateway ${gateway.gateway.name}` })),
  ];
  const clash = health && taken.find((route) => route.path === health.path);
  if (clash) throw new ConfigError(`bootstrap({ health: '${health.path}' }) is also the path of ${clash.name}: serve the health endpoint at another path.`);
  const telemetry = await startMetrics(options.metrics, { patternOf: (channel) => channels.patternOf(channel) ?? OTHER_CHANNELS, taken, logger, clustered: worker !== undefined });
  // Without history channels a broadcast looks nothing up: the hub gets no history table at all.
  const hub = new Hub(ids.nodeId, adapter, logger, channels.hasHistory ? channels.historyOf : undefined, channels.patternOf, telemetry.metrics.pubsub);
  // Shared by the nodes when the adapter offers a store, so a repeat is answered on any of them.
  const requests = new RequestMemory(adapter.answers?.() ?? new MemoryAnswerStore(), window, logger);
  const onListenerError = (error: unknown, channel: string) => logger.error('pub/sub listener failed', { channel, error });
  const pubsub = new PubSub(hub, undefined, onListenerError);
  const comms = new Comms(hub);
  const tracker = new PresenceTracker(hub, adapter.presence, adapter.name, options.presence);
  const presence = new Presence(tracker, undefined);
  telemetry.metrics.observePresence(() => tracker.keysPerChannel());
  if (adapter.history?.sizes) telemetry.metrics.observeHistory(() => adapter.history!.sizes!());

  const container = new Container();
  container.register({ provide: LOGGER, useValue: logger }, 'Vela');
  container.register({ provide: HandlerRegistry, useValue: handlers }, 'Vela');
  container.register({ provide: PubSub, useValue: pubsub }, 'Vela');
  container.register({ provide: Comms, useValue: comms }, 'Vela');
  container.register({ provide: Presence, useValue: presence }, 'Vela');
  for (const mod of modules) {
    for (const provider of mod.providers) container.register(provider, `${mod.module.name}.providers`);
  }
  for (const controller of table.controllers) container.register(controller, 'controllers');
  for (const fallback of fallbacks) container.register(fallback, '@FallbackController');
  for (const provider of options.overrides ?? []) container.register(provider, 'bootstrap overrides', { override: true });
  await container.initialize([...table.controllers, ...fallbacks], gatewayTable.map((definition) => definition.gateway));
  // Built now so that a gateway's missing dependency fails bootstrap, not its first connection.
  // A gateway's PubSub and Presence are its own, bound to its connection.
  const perConnection = new Map<Token, (process: GatewayProcess) => unknown>([
    [PubSub, (process) => new PubSub(hub, process, onListenerError)],
    [Presence, (process) => new Presence(tracker, process)],
  ]);
  const gateways = gatewayTable.map(
    (definition) =>
      new GatewayServer({
        definition,
        createGateway: container.factory(definition.gateway, perConnection),
        fallback: definition.fallback && container.get<Fallback>(definition.fallback),
        hub,
        logger,
        // Event frames get the depth limit of JSON bodies.
        jsonDepth: options.body?.jsonDepth ?? DEFAULT_JSON_DEPTH,
        requests,
        meter: telemetry.metrics.gateway(definition.path),
      }),
  );

  const renderer = new ResultRenderer(handlers, container);
  const pages = new StatusPages({
    statusRoutes: table.statusRoutes,
    container,
    renderer,
    logger,
    development: process.env.NODE_ENV === 'development',
  });

  // One store and one middleware for HTTP and upgrades, so a socket sees its page's session.
  // The store is closed with the app (SessionStore.close), whether Vela made it or the app passed it.
  const given = options.sessions === false ? undefined : options.sessions?.store;
  const store = options.sessions === false ? undefined : (worker?.workerSessionStore(given, logger) ?? given ?? memorySessionStore());
  const session = store ? sessionMiddleware({ ...options.sessions, store }) : undefined;

  const koa = new Koa();
  // Set once close() starts: the health endpoint answers 503 from then on.
  let closeStarted = false;
  // Set once the port stops accepting: the error boundary tells responses finished from then on to close.
  let shuttingDown = false;
  // The boundary writes the request log line too, with the status the client really got.
  const boundary = errorBoundary(pages, logger, { closing: () => shuttingDown, logRequests: options.requestLog !== false, metrics: telemetry.metrics.http });
  // Outside the boundary: the request's log scope, when a middleware puts fields on it.
  const scope = requestScope(
    anyWantsLogScope([
      ...(options.middleware ?? []),
      ...table.routes.flatMap((route) => route.middleware),
      ...gatewayTable.flatMap((gateway) => gateway.middleware),
    ]),
  );
  if (scope) koa.use(scope);
  koa.use(boundary);
  // Before sessions and the app's middleware: the same public file for everyone, no cookie.
  if (client) koa.use(client);
  if (docs) koa.use(docs);
  if (health) koa.use(healthEndpoint({ settings: health, adapter, store, providers: container.classInstances(), closing: () => closeStarted }));
  if (session) koa.use(session);
  for (const middleware of options.middleware ?? []) koa.use(middleware);
  // After the app's middleware, which its security function may rely on (auth, sessions).
  const scrape = telemetry.endpoint(renderer);
  if (scrape) koa.use(scrape);
  if (gatewayTable.length > 0) koa.use(upgradeRequired(gatewayTable));
  if (staticMounts.length > 0) koa.use(staticFiles(staticMounts));
  for (const middleware of createRouter({ routes: table.routes, container, renderer, body: options.body })) koa.use(middleware);
  // Errors reach Koa only when a response had already started; the boundary logged them.
  koa.on('error', (error: unknown) => {
    if ((error as Record<symbol, unknown>)?.[LOGGED]) return;
    // The client left during a streamed body (a cancelled download): nothing failed on our side, and
    // the error boundary's stream hook has its debug line (Koa's listener runs before it can mark it).
    if ((error as NodeJS.ErrnoException)?.code === 'ERR_STREAM_PREMATURE_CLOSE') return;
    logger.error('unhandled error', { error });
  });

  const server = createHttpServer(timeouts, koa.callback());
  const shutdownTimeout = options.shutdownTimeout ?? 10_000;
  const graceful = new GracefulServer(server, shutdownTimeout);
  const lifecycle = new Lifecycle(container.classInstances(), logger, shutdownTimeout);
  const upgrades = new UpgradeHandler({ koa, gateways, renderer, boundary: scope ? compose([scope, boundary]) : boundary, session, logger, ids });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => void upgrades.handle(req, socket, head));
  let closing: Promise<void> | undefined;
  const close = async () => {
    closeStarted = true;
    // Serving on while the balancer sees the 503 and stops sending new clients here.
    if (health?.readinessDelay) await new Promise((resolve) => setTimeout(resolve, health.readinessDelay));
    shuttingDown = true;
    upgrades.stopAccepting();
    const http = graceful.close();
    await Promise.all(gateways.map((gateway) => gateway.close(shutdownTimeout)));
    await http;
    // After the drain, so a gateway's terminate and a last request still find the app's pool open;
    // before pub/sub stops, so an onClose can still publish.
    await lifecycle.close();
    await tracker.stop();
    await hub.stop();
    await store?.close?.();
    await telemetry.close();
    // Every line of the app is out once close() resolves, not only when the process exits.
    defaultLogger?.flush();
  };
  const port = resolvePort(options.port);
  // A failed start must not leave a Redis connection or a store timer keeping the process alive.
  // (An adapter whose start failed has cleaned up after itself.)
  try {
    await hub.start();
    await tracker.start();
    telemetry.metrics.start();
  } catch (error) {
    await store?.close?.();
    await telemetry.close();
    throw error;
  }
  try {
    // After pub/sub starts (an onInit may publish), before the port opens (a request must find it ready).
    await lifecycle.init();
    await listen(server, port, options.host);
  } catch (error) {
    await lifecycle.close();
    await tracker.stop();
    await hub.stop();
    await store?.close?.();
    await telemetry.close();
    throw error;
  }
  const address = server.address() as AddressInfo;

  const app: App = {
    url: `http://${urlHost(options.host)}:${address.port}`,
    port: address.port,
    koa,
    server,
    handlers,
    logger,
    pubsub,
    comms,
    presence,
    get: (token) => container.get(token),
    close: () => (closing ??= close()),
  };
  worker?.drainOnSignals(app);
  return app;
}
