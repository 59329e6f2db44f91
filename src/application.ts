// bootstrap(AppModule): reads the module tree, validates every route and provider, builds the
// singletons, and serves them on one Koa server. Everything that can be wrong is found before
// the port opens.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa, { type Middleware } from 'koa';
import { Container } from './di/container.js';
import type { Provider } from './di/provider.js';
import type { Class, Token } from './di/token.js';
import { ConfigError } from './errors.js';
import { errorBoundary, LOGGED } from './http/error-boundary.js';
import { HandlerRegistry } from './http/handler-registry.js';
import { ResultRenderer } from './http/renderer.js';
import { buildRouteTable } from './http/route-table.js';
import { createRouter, type BodyOptions } from './http/router.js';
import { StatusPages } from './http/status-pages.js';
import { consoleLogger, LOGGER, type Logger } from './logger.js';
import { loadModules } from './module.js';
import { GracefulServer } from './graceful-server.js';

export interface BootstrapOptions {
  /** 0 picks a free port. Default: the `PORT` environment variable, else 8080. */
  port?: number;
  /** Interface to listen on. Default: every interface. */
  host?: string;
  /** Koa middleware run before routing, for every request (Nova's global plugins). */
  middleware?: Middleware[];
  /** Request body parsing (@koa/bodyparser options), e.g. `{ jsonLimit: '100kb' }`. Default limits: 1mb JSON, 56kb form and text. */
  body?: BodyOptions;
  /** Where Vela logs. Default: one line per event on stdout/stderr, level from `LOG_LEVEL`. */
  logger?: Logger;
  /** Replace providers of the modules, e.g. a fake store in tests. */
  overrides?: Provider[];
  /** How long `close()` waits for in-flight requests before cutting them, in ms. Default 10 000. */
  shutdownTimeout?: number;
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
  /** A singleton provider (or controller) of this app. */
  get<T>(token: Token<T>): T;
  /** Stops accepting, lets in-flight requests finish (up to `shutdownTimeout`), then resolves. */
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
  const logger = options.logger ?? consoleLogger();
  const modules = loadModules(root);
  const table = buildRouteTable(modules);

  const handlers = HandlerRegistry.withBuiltins();
  for (const mod of modules) {
    for (const [tag, handler] of Object.entries(mod.handlers)) handlers.register(tag, handler, `${mod.module.name}.handlers`);
  }

  const container = new Container();
  container.register({ provide: LOGGER, useValue: logger }, 'Vela');
  container.register({ provide: HandlerRegistry, useValue: handlers }, 'Vela');
  for (const mod of modules) {
    for (const provider of mod.providers) container.register(provider, `${mod.module.name}.providers`);
  }
  for (const controller of table.controllers) container.register(controller, 'controllers');
  for (const fallback of table.fallbacks) container.register(fallback, '@FallbackController');
  for (const provider of options.overrides ?? []) container.register(provider, 'bootstrap overrides', { override: true });
  await container.initialize();

  const renderer = new ResultRenderer(handlers, container);
  const pages = new StatusPages({
    statusRoutes: table.statusRoutes,
    container,
    renderer,
    logger,
    development: process.env.NODE_ENV === 'development',
  });

  const koa = new Koa();
  koa.use(errorBoundary(pages, logger));
  for (const middleware of options.middleware ?? []) koa.use(middleware);
  for (const middleware of createRouter({ routes: table.routes, container, renderer, body: options.body })) koa.use(middleware);
  // Errors reach Koa only when a response had already started; the boundary logged them.
  koa.on('error', (error: unknown) => {
    if (!(error as Record<symbol, unknown>)?.[LOGGED]) logger.error('unhandled error', { error });
  });

  const server = createServer(koa.callback());
  const graceful = new GracefulServer(server, options.shutdownTimeout ?? 10_000);
  const port = resolvePort(options.port);
  await listen(server, port, options.host);
  const address = server.address() as AddressInfo;

  return {
    url: `http://${urlHost(options.host)}:${address.port}`,
    port: address.port,
    koa,
    server,
    handlers,
    logger,
    get: (token) => container.get(token),
    close: () => graceful.close(),
  };
}

function resolvePort(port: number | undefined): number {
  const chosen = port ?? (process.env.PORT ? Number(process.env.PORT) : 8080);
  if (!Number.isInteger(chosen) || chosen < 0 || chosen > 65535) {
    throw new ConfigError(`Port ${String(port ?? process.env.PORT)} is not a valid port: use 0–65535 (0 picks a free port).`);
  }
  return chosen;
}

function listen(server: Server, port: number, host: string | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') {
        reject(new ConfigError(`Port ${port} is already in use: stop the other server, or set PORT / bootstrap({ port }).`, { cause: error }));
      } else {
        reject(error);
      }
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

function urlHost(host: string | undefined): string {
  if (!host || host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}
