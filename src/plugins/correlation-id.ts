// Correlation ids: one id per request, taken from the caller when it sent a sane one (a proxy or
// another service), else made here; echoed on the response and put on every log line of the
// request, so one grep finds everything a request did across services.
import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import { ConfigError } from '../app/errors.js';
import { keepHeader } from '../http/request-info.js';
import { addLogFields, runWithLogFields, wantsLogScope } from '../logging/log-context.js';
import { isToken } from '../http/header-token.js';

export interface CorrelationIdOptions {
  /** The request header read and the response header set. Default 'x-correlation-id'. */
  header?: string;
}

declare module 'koa' {
  interface DefaultState {
    /** This request's correlation id (the correlationId() plugin). */
    correlationId?: string;
  }
}

/** What an incoming id may look like: short, and nothing that could forge a log line or a header. */
const SANE_ID = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * Gives the request a correlation id: the incoming header's value if it is 1–128 characters of
 * `A-Z a-z 0-9 . _ -`, else a new UUID. The id is on `ctx.state.correlationId`, on the response
 * (error pages included), and on every line logged during the request through the app's logger
 * (`correlationId` field) — Vela's own lines and those of `@Inject(LOGGER)`. Works as global
 * middleware, on a route group, or on a WebSocket upgrade (`@WebSocket(path, { middleware })`).
 *
 * @example
 * await bootstrap(AppModule, { middleware: [correlationId()] });
 */
export function correlationId(options: CorrelationIdOptions = {}): Middleware {
  const { header = 'x-correlation-id' } = options;
  if (typeof header !== 'string' || !isToken(header)) {
    throw new ConfigError(`correlationId({ header: ${JSON.stringify(header)} }): a header name is letters, digits and !#$%&'*+-.^_\`|~ only, e.g. 'x-request-id'.`);
  }
  return wantsLogScope<Middleware>((ctx, next) => {
    const incoming = ctx.get(header);
    const id = SANE_ID.test(incoming) ? incoming : randomUUID();
    ctx.state.correlationId = id;
    ctx.set(header, id);
    keepHeader(ctx, header);
    // Vela opens a log scope for every request; used on a bare Koa app, open one here.
    return addLogFields({ correlationId: id }) ? next() : runWithLogFields({ correlationId: id }, next);
  });
}
