// The HTTP side of a WebSocket: the server's 'upgrade' event runs a Koa context through the
// gateway's middleware and security, like a route. Accepted upgrades go to ws for the 101; every
// refusal (404 no gateway, 403 origin, 401, a security Result, 500) is a real HTTP response written
// on the raw socket before any 101, rendered by the same status pages as HTTP errors.
import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { Stream, type Duplex } from 'node:stream';
import type Koa from 'koa';
import type { Context, Middleware } from 'koa';
import compose from 'koa-compose';
import type { Logger } from '../logger.js';
import type { ResultRenderer } from '../http/renderer.js';
import { requestInfo } from '../http/request-info.js';
import { securityMiddleware } from '../http/security.js';
import { sessionIdOf } from '../session/index.js';
import type { ConnectionIds } from './connection-id.js';
import type { GatewayDefinition } from './gateway-table.js';
import type { GatewayServer } from './gateway-server.js';

export interface UpgradeOptions {
  koa: Koa;
  gateways: readonly GatewayServer[];
  renderer: ResultRenderer;
  /** Outermost middleware: logs failures and renders status pages (the app's error boundary). */
  boundary: Middleware;
  /** The app's session middleware, run on upgrades to a gateway path; absent when sessions are off. */
  session?: Middleware;
  ids: ConnectionIds;
  logger: Logger;
}

/** What the innermost step needs and what the caller learns from it. */
interface PendingUpgrade {
  socket: Duplex;
  head: Buffer;
  accepted: boolean;
  onSocketError: (error: Error) => void;
}

export class UpgradeHandler {
  #closing = false;
  readonly #pending = new WeakMap<Context, PendingUpgrade>();
  readonly #koa: Koa;
  readonly #logger: Logger;
  readonly #ids: ConnectionIds;
  readonly #run: (ctx: Context) => Promise<void>;

  constructor({ koa, gateways, renderer, boundary, session, logger, ids }: UpgradeOptions) {
    this.#koa = koa;
    this.#ids = ids;
    this.#logger = logger;
    const routes = gateways.map((server) => ({
      definition: server.runtime.definition,
      chain: compose<Context>([
        markGateway(server.runtime.definition),
        checkOrigin(server.runtime.definition),
        ...(session ? [session] : []),
        ...(server.runtime.definition.middleware as Middleware[]),
        securityMiddleware(server.runtime.definition.security, renderer, {
          controller: server.runtime.definition.gateway,
          handlerName: 'upgrade',
          fallback: server.runtime.definition.fallback,
        }),
        (ctx) => this.#accept(ctx, server),
      ]),
    }));
    const dispatch: Middleware = (ctx, next) => {
      if (this.#closing) {
        ctx.status = 503;
        return;
      }
      for (const { definition, chain } of routes) {
        const found = definition.match(ctx.path);
        if (found) {
          ctx.params = found.params as Record<string, string>;
          return chain(ctx, next);
        }
      }
      ctx.status = 404;
    };
    this.#run = compose<Context>([boundary, dispatch]);
  }

  /** New upgrades are refused with 503 from now on (the app is closing). */
  stopAccepting(): void {
    this.#closing = true;
  }

  async handle(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    // First, before anything async: a client that resets during security must not take the process
    // down with an unhandled ECONNRESET.
    const path = req.url;
    const onSocketError = (error: Error) => this.#logger.debug('upgrade socket error', { path, error: error.message });
    socket.on('error', onSocketError);
    const ctx = this.#koa.createContext(req, new ServerResponse(req));
    ctx.status = 404;
    const pending: PendingUpgrade = { socket, head, accepted: false, onSocketError };
    this.#pending.set(ctx, pending);
    try {
      await this.#run(ctx);
      if (!pending.accepted && !socket.destroyed) respond(ctx, socket);
    } catch (error) {
      // The boundary renders every error; reaching here means even that failed.
      this.#logger.error('upgrade failed', { path: req.url, error });
      socket.destroy();
    }
  }

  #accept(ctx: Context, server: GatewayServer): void {
    const pending = this.#pending.get(ctx)!;
    // The client may have gone while security ran; there is nothing to upgrade then.
    if (pending.socket.destroyed) return;
    pending.accepted = true;
    ctx.respond = false;
    ctx.status = 101;
    const identity = {
      id: this.#ids.next(),
      request: { path: ctx.path, query: ctx.query, params: ctx.params, headers: ctx.headers },
      auth: ctx.state.auth as unknown,
      sessionId: sessionIdOf(ctx),
    };
    server.accept(ctx.req, pending.socket, pending.head, identity, headerLines(ctx.res));
    // ws now listens for the socket's errors itself; ours would keep this upgrade's state alive
    // for as long as the connection lasts.
    pending.socket.off('error', pending.onSocketError);
  }
}

/**
 * A non-upgrade request to a gateway path that no route took: 426 with `Upgrade: websocket` for GET
 * (the client forgot to upgrade), 405 for other methods.
 */
export function upgradeRequired(definitions: readonly GatewayDefinition[]): Middleware {
  return async (ctx, next) => {
    await next();
    if (ctx.status !== 404 || ctx.body != null || !definitions.some((d) => d.match(ctx.path))) return;
    if (ctx.method === 'GET' || ctx.method === 'HEAD') {
      ctx.status = 426;
      ctx.set('Upgrade', 'websocket');
    } else {
      ctx.status = 405;
      ctx.set('Allow', 'GET');
    }
  };
}

function markGateway(definition: GatewayDefinition): Middleware {
  const info = { controller: definition.gateway, handlerName: 'upgrade', path: definition.path };
  return (ctx, next) => {
    requestInfo(ctx).route = info;
    return next();
  };
}

/** Cross-site WebSocket hijacking guard: browsers always send Origin, so a foreign one is refused. */
function checkOrigin(definition: GatewayDefinition): Middleware {
  const { origins } = definition;
  if (!origins) return (_ctx, next) => next();
  return (ctx, next) => {
    const origin = ctx.get('Origin');
    if (origin && !origins.has(origin)) {
      ctx.status = 403;
      return;
    }
    return next();
  };
}

/** Headers middleware set on the context (cookies, correlation ids), for the 101 response. */
function headerLines(res: ServerResponse): string[] {
  const lines: string[] = [];
  for (const [name, value] of Object.entries(res.getHeaders())) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${String(one)}`);
  }
  return lines;
}

/**
 * Writes the context's response on the raw socket, then closes it. Koa's setters have already put
 * the status and headers on `ctx.res`; only the body is left, as Koa itself would send it.
 */
function respond(ctx: Context, socket: Duplex): void {
  const res = ctx.res;
  res.shouldKeepAlive = false;
  res.assignSocket(socket as Socket);
  res.once('finish', () => {
    res.detachSocket(socket as Socket);
    // The HTTP server's sockets allow half-open connections: end, then destroy once flushed.
    socket.once('finish', () => socket.destroy());
    socket.end();
  });
  const body: unknown = ctx.body;
  if (body == null) res.end();
  else if (typeof body === 'string' || Buffer.isBuffer(body)) res.end(body);
  else if (body instanceof Stream) body.pipe(res);
  else res.end(JSON.stringify(body));
}
