// The built-in result handlers. Each only sets status, headers and body; Koa writes the wire.
import type { Context } from 'koa';
import type { JsonOptions, RedirectOptions, StatusOptions } from './results.js';
import { defaultStatus } from './request-info.js';

/** What Koa's `ctx.type = 'json'` sets, without its MIME lookup on every response. */
const JSON_TYPE = 'application/json; charset=utf-8';

export function jsonHandler(ctx: Context, body: unknown, options: JsonOptions = {}): void {
  ctx.status = options.status === undefined ? defaultStatus(ctx) : finalStatus(options.status, 'json()');
  if (options.headers) ctx.set(options.headers);
  ctx.set('Content-Type', JSON_TYPE);
  // Serialise here rather than leaving an object to Koa, so `json('text')` and `json(null)` are JSON too.
  ctx.body = JSON.stringify(body) ?? 'null';
}

export function statusHandler(ctx: Context, code: number, options: StatusOptions = {}): void {
  ctx.status = finalStatus(code, 'status()');
  if (options.headers) ctx.set(options.headers);
  const { body } = options;
  if (body === undefined || body === null) return;
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    ctx.body = body;
  } else {
    ctx.set('Content-Type', JSON_TYPE);
    ctx.body = JSON.stringify(body);
  }
}

export function redirectHandler(ctx: Context, url: string, options: RedirectOptions = {}): void {
  const code = options.status ?? 302;
  if (!Number.isInteger(code) || code < 300 || code > 399) {
    throw new TypeError(`redirect('${url}') was given status ${code}; a redirect status is 300–399.`);
  }
  // Koa's redirect percent-encodes the URL, so CR/LF from user input cannot split the header.
  ctx.redirect(url);
  ctx.status = code;
}

/**
 * A response's status: 200–599. An informational 1xx sent as the final answer would leave the
 * client waiting for the real one (101 would even switch protocols), and Node refuses 600 and up.
 */
function finalStatus(code: number, result: string): number {
  if (!Number.isInteger(code) || code < 200 || code > 599) {
    throw new TypeError(`${result} was given status ${code}; a response status is an integer from 200 to 599.`);
  }
  return code;
}
