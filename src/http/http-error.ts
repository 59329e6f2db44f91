// An error that carries an HTTP status, thrown from controllers, security functions or middleware.
// It follows Koa's convention (`status` + `expose`) so errors from Koa's own stack (body parsing,
// ctx.throw) are handled the same way.
import { STATUS_CODES } from 'node:http';
import { describeValue } from '../app/errors.js';
import { isSendableHeader } from './header-token.js';

export interface HttpErrorOptions {
  /** Whether `message` may be shown to the client. Default: true below 500, false from 500 up. */
  expose?: boolean;
  /** Headers to send with the error response (e.g. `WWW-Authenticate`). */
  headers?: Record<string, string>;
  cause?: unknown;
}

/**
 * @example
 * throw new HttpError(403, 'You do not own this post');   // renders the 403 status route
 */
export class HttpError extends Error {
  override name = 'HttpError';
  readonly status: number;
  readonly expose: boolean;
  readonly headers: Record<string, string>;

  constructor(status: number, message?: string, options: HttpErrorOptions = {}) {
    super(message ?? STATUS_CODES[status] ?? `HTTP ${status}`, { cause: options.cause });
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new RangeError(`HttpError status must be an integer from 400 to 599, got ${status}.`);
    }
    this.status = status;
    this.expose = options.expose ?? status < 500;
    this.headers = options.headers ?? {};
  }

  /**
   * Any thrown value as an HttpError: Koa-style errors keep their status, and their message and
   * headers only when they say `expose: true` (as http-errors and `ctx.throw` do for 4xx), since an
   * error that merely carries a `status` (a database driver's, say) may hold anything; everything
   * else is a 500 whose message stays private.
   */
  static from(error: unknown): HttpError {
    if (error instanceof HttpError) return error;
    const candidate = error as { status?: unknown; statusCode?: unknown; expose?: unknown; message?: unknown; headers?: unknown };
    const status = Number(candidate?.status ?? candidate?.statusCode);
    if (Number.isInteger(status) && status >= 400 && status <= 599) {
      const expose = candidate.expose === true;
      return new HttpError(status, typeof candidate.message === 'string' ? candidate.message : undefined, {
        expose,
        headers: expose ? sendableHeaders(candidate.headers) : {},
        cause: error,
      });
    }
    return new HttpError(500, error instanceof Error ? error.message : describeValue(error), { expose: false, cause: error });
  }
}

/**
 * The headers of a thrown Koa-style error that can go on the wire. Anything else would make Node
 * throw while the error page is written.
 */
function sendableHeaders(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null) return {};
  const headers: Record<string, string> = {};
  for (const [name, header] of Object.entries(value)) {
    if (typeof header === 'string' && isSendableHeader(name, header)) headers[name] = header;
  }
  return headers;
}
