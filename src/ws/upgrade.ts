// The HTTP side of a WebSocket: the server's 'upgrade' event runs a Koa context through the
// gateway's middleware and security, like a route. Accepted upgrades go to ws for the 101; every
// refusal (404 no gateway, 400/405 malformed handshake, 403 origin, 401, a security Result, 500) is
// a real HTTP response written on the raw socket before any 101, rendered by the same status pages
// as HTTP errors.
import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { Stream, type Duplex } from 'node:stream';
import type Koa from 'koa';
import type { Context, Middleware } from 'koa';
import compose from 'koa-compose';
import type { Logger } from '../logging/logger.js';
import type { ResultRenderer } from '../http/renderer.js';
import { HttpError } from '../http/http-error.js';
import { originOf, ownOrigin } from '../http/origin.js';
import { requestInfo } from '../http/request-info.js';
import { sortBySpecificity } from '../http/route-table.js';
import { securityMiddleware } from '../http/security.js';
import { sessionIdOf } from '../session/index.js';
import { readClientResume, withoutResume } from './client-resume.js';
import type { ConnectionRequest } from './connection.js';
import type { ConnectionIds } from './connection-id.js';
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
  onSocketEnd: () => void;
}

export class UpgradeHandler {
  #closing = false;
  readonly #pending = new WeakMap<Context, PendingUpgrade>();
  readonly #koa: Koa;
  readonly #logger: Logger;
  readonly #ids: ConnectionIds;
  readonly #run: (ctx: Context) => Promise<void>;
  #http?: ReturnType<Koa['callback']>;

  constructor({ koa, gateways, renderer, boundary, session, logger, ids }: UpgradeOptions) {
    this.#koa = koa;
    this.#ids = ids;
    this.#logger = logger;
    // Matched in the order HTTP routes are: `/rooms/new` before `/rooms/:id`, whatever the declaration order.
    const ordered = sortBySpecificity(gateways.map((server) => ({ server, path: server.path })));
    const routes = ordered.map(({ server }) => ({
      server,
      chain: compose<Context>([
        markGateway(server),
        checkHandshake,
        checkOrigin(server),
        ...(session ? [session] : []),
        ...server.middleware,
        securityMiddleware(server.security, renderer, { controller: server.gateway, handlerName: 'upgrade', fallback: server.fallback }),
        (ctx) => this.#accept(ctx, server),
      ]),
    }));
    const dispatch: Middleware = (ctx, next) => {
      if (this.#closing) {
        ctx.status = 503;
        return;
      }
      for (const { server, chain } of routes) {
        const found = server.match(ctx.path);
        if (found) {
          ctx.params = found.params;
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
    if (!asksForWebSocket(req) && !hasBody(req)) return this.#serveAsHttp(req, socket);
    // First, before anything async: a client that resets during security must not take the process
    // down with an unhandled ECONNRESET.
    const path = req.url;
    const onSocketError = (error: Error) => this.#logger.debug('upgrade socket error', { path, error: error.message });
    socket.on('error', onSocketError);
    // A client that half-closes (FIN) before its 101 can never speak WebSocket: dropped now, not
    // held half-open until security answers (or for ever, if it never does).
    const onSocketEnd = () => {
      this.#logger.debug('upgrade socket ended by the client before the upgrade completed', { path });
      socket.destroy();
    };
    socket.once('end', onSocketEnd);
    const ctx = this.#koa.createContext(req, new ServerResponse(req));
    ctx.status = 404;
    const pending: PendingUpgrade = { socket, head, accepted: false, onSocketError, onSocketEnd };
    this.#pending.set(ctx, pending);
    try {
      await this.#run(ctx);
      if (!pending.accepted && !socket.destroyed) respond(ctx, socket);
    } catch (error) {
      // The boundary renders every error; reaching here means even that failed.
      this.#logger.error('upgrade failed', { path: req.url, error });
      socket.destroy();
    } finally {
      // Now, not when the context is collected: a WeakMap's table only shrinks as entries go.
      this.#pending.delete(ctx);
    }
  }

  /**
   * Node hands every request with an `Upgrade` header to the 'upgrade' event, so `curl --http2
   * http://…/api/users` (Upgrade: h2c) would never reach its route. A server may ignore an upgrade
   * it does not speak (RFC 9110 §7.8): such a request is answered as the plain HTTP request it also
   * is, then the connection closed. Not one with a body: Node's parser has stopped at the headers,
   * and the body cannot be fed back to it; that one still goes through the gateways (404, or 400).
   */
  #serveAsHttp(req: IncomingMessage, socket: Duplex): void {
    socket.on('error', (error: Error) => this.#logger.debug('upgrade socket error', { path: req.url, error: error.message }));
    const res = new ServerResponse(req);
    res.shouldKeepAlive = false;
    closeAfterResponse(res, socket);
    (this.#http ??= this.#koa.callback())(req, res);
  }

  #accept(ctx: Context, server: GatewayServer): void {
    const pending = this.#pending.get(ctx)!;
    // The client may have gone while security ran; there is nothing to upgrade then.
    if (pending.socket.destroyed) return;
    // Before the 101: a malformed one is refused with 400 and says what is wrong.
    const resume = ctx.querystring === '' ? undefined : readClientResume(ctx.query);
    pending.accepted = true;
    ctx.respond = false;
    ctx.status = 101;
    const identity = {
      id: this.#ids.next(),
      request: connectionRequest(ctx),
      auth: ctx.state.auth as unknown,
      sessionId: sessionIdOf(ctx),
      clientId: resume?.clientId,
      positions: resume?.positions,
    };
    server.accept(ctx.req, pending.socket, pending.head, identity, headerLines(ctx.res));
    // ws now listens for the socket's errors and end itself; ours would keep this upgrade's state
    // alive for as long as the connection lasts.
    pending.socket.off('error', pending.onSocketError);
    pending.socket.off('end', pending.onSocketEnd);
  }
}

/** Shared by every upgrade without a query string or path parameters. */
const NONE: Readonly<Record<string, never>> = Object.freeze({});

/**
 * What a connection keeps of its upgrade request, for as long as it lives, so kept small: no query
 * object for an empty query string, and path parameters copied out of path-to-regexp's
 * null-prototype object, which V8 holds in dictionary mode (≈ 200 B per connection).
 */
function connectionRequest(ctx: Context): ConnectionRequest {
  const params = Object.entries(ctx.params as Record<string, string>);
  return {
    path: ctx.path,
    query: ctx.querystring === '' ? NONE : withoutResume(ctx.query),
    // Object.fromEntries defines keys, so even a parameter named `__proto__` stays a key.
    params: params.length === 0 ? NONE : Object.fromEntries(params),
    headers: ctx.headers,
  };
}

function markGateway(server: GatewayServer): Middleware {
  const info = { controller: server.gateway, handlerName: 'upgrade', path: server.path };
  return (ctx, next) => {
    requestInfo(ctx).route = info;
    return next();
  };
}

/** A key is 16 random bytes in base64 (RFC 6455 §4.1). */
const HANDSHAKE_KEY = /^[+/0-9A-Za-z]{22}==$/;

/**
 * Refuses a malformed handshake before sessions, middleware and security run on it (ws would refuse
 * it too, but only after them). Only version 13 is taken: ws also speaks the draft version 8, whose
 * browsers send `Sec-WebSocket-Origin` instead of `Origin`, which would walk past checkOrigin.
 */
const checkHandshake: Middleware = (ctx, next) => {
  if (ctx.method !== 'GET') {
    throw new HttpError(405, `A WebSocket upgrade must be a GET request, not ${ctx.method}.`, { headers: { Allow: 'GET' } });
  }
  if (ctx.get('Upgrade').toLowerCase() !== 'websocket') {
    throw new HttpError(400, "Invalid Upgrade header: a WebSocket upgrade sends 'Upgrade: websocket'.");
  }
  if (!HANDSHAKE_KEY.test(ctx.get('Sec-WebSocket-Key'))) {
    throw new HttpError(400, 'Missing or invalid Sec-WebSocket-Key header: it must be 16 random bytes in base64.');
  }
  if (ctx.get('Sec-WebSocket-Version') !== '13') {
    throw new HttpError(400, 'Unsupported Sec-WebSocket-Version: this server speaks version 13 (RFC 6455).', {
      headers: { 'Sec-WebSocket-Version': '13' },
    });
  }
  return next();
};

/**
 * Cross-site WebSocket hijacking guard. A page on any site can open a socket here, and the browser
 * sends this site's cookies with it; browsers always send `Origin`, so an upgrade from a site that
 * is neither the gateway's own nor listed in `origins` is refused, before sessions, middleware and
 * security run. `origins: '*'` turns the check off. A client without Origin is not a browser (and
 * could send any Origin it liked): it is let through.
 */
function checkOrigin(server: GatewayServer): Middleware {
  const { origins, path } = server;
  if (origins === '*') return (_ctx, next) => next();
  return (ctx, next) => {
    const origin = ctx.get('Origin');
    if (!origin || origins.has(origin)) return next();
    const own = ownOrigin(ctx);
    if (origin === own) return next();
    throw new HttpError(403, foreignOriginMessage(origin, own, path, ctx.app.proxy));
  };
}

/** Says what to change: list the site, or, when it is this site behind a proxy, set app.koa.proxy. */
function foreignOriginMessage(origin: string, own: string | undefined, path: string, proxy: boolean): string {
  // Echoed as a suggestion only when it is a well-formed origin (not `null`, not a joined list).
  const entry = originOf(origin) === origin ? origin : 'https://app.example.com';
  return (
    `Cross-origin WebSocket refused: Origin '${origin}' is neither this gateway's own origin ` +
    `(${own ? `'${own}'` : 'unknown: no Host header'}) nor in its origins. To let that site connect, ` +
    `list it: @WebSocket('${path}', { origins: ['${entry}'] }).` +
    (proxy ? '' : ' If it is this site behind a proxy, set app.koa.proxy = true so the own origin is read from X-Forwarded-Proto and X-Forwarded-Host.')
  );
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
  closeAfterResponse(res, socket);
  const body: unknown = ctx.body;
  if (body == null) res.end();
  else if (typeof body === 'string' || Buffer.isBuffer(body)) res.end(body);
  else if (body instanceof Stream) body.pipe(res);
  else res.end(JSON.stringify(body));
}

/** Gives `res` the raw socket and closes the connection once the response has been written. */
function closeAfterResponse(res: ServerResponse, socket: Duplex): void {
  res.assignSocket(socket as Socket);
  res.once('finish', () => {
    res.detachSocket(socket as Socket);
    // The HTTP server's sockets allow half-open connections: end, then destroy once flushed.
    socket.once('finish', () => socket.destroy());
    socket.end();
  });
}

/** `Upgrade: websocket` (a list naming it counts: checkHandshake then judges it). */
function asksForWebSocket(req: IncomingMessage): boolean {
  return (req.headers.upgrade ?? '').split(',').some((protocol) => protocol.trim().toLowerCase() === 'websocket');
}

function hasBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}
