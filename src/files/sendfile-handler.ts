// The `sendfile` result handler (Nova's `{sendfile, …}`): streams one file from a root directory.
// The path is a file path, not a URL: it is looked up inside `root` whatever it contains.
import { resolve } from 'node:path';
import type { Context } from 'koa';
import { describeValue } from '../app/errors.js';
import { HttpError } from '../http/http-error.js';
import { requestInfo } from '../http/request-info.js';
import type { SendfileOptions } from '../http/results.js';
import { sendFromRoot } from './send-from-root.js';

export async function sendfileHandler(ctx: Context, path: string, options: SendfileOptions = {}): Promise<void> {
  if (typeof path !== 'string' || path === '') {
    throw new TypeError(`sendfile() was given ${describeValue(path)}; it takes a file path relative to its root.`);
  }
  const { status, contentType, headers } = options;
  if (status !== undefined && !hasBody(status)) {
    throw new TypeError(`sendfile('${path}') was given status ${status}; a file needs a status with a body: 2xx (not 204 or 205), 4xx or 5xx.`);
  }
  // A status route that returns sendfile('404.html') answers with the status it renders.
  const code = status ?? requestInfo(ctx).renderingStatus ?? 200;
  // Ranges and validators describe a 200 representation; a page sent as a 404 or 503 is sent whole.
  const whole = code >= 300;
  const answer = await sendFromRoot(ctx, toUrlPath(path), {
    root: resolve(options.root ?? process.cwd()),
    index: false,
    // A controller's file may be private: caching is the app's call (`headers: { 'Cache-Control': … }`).
    cacheControl: false,
    contentType: contentType === undefined,
    acceptRanges: !whole,
    etag: !whole,
    lastModified: !whole,
  });
  if (answer.type === 'directory') throw new HttpError(404, 'Not Found', { cause: new Error(`sendfile('${path}') names a directory`) });

  // 206 (Range) and 304 (conditional GET) describe what is sent, so they keep their status.
  ctx.status = answer.statusCode === 200 ? code : answer.statusCode;
  ctx.set(answer.headers);
  if (contentType !== undefined && answer.statusCode !== 304) ctx.type = contentType;
  if (headers) ctx.set(headers);
  if (answer.statusCode !== 304) ctx.body = answer.stream;
}

/** send takes a URL path and decodes it; encoding each segment makes it decode back to `path` exactly. */
function toUrlPath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

function hasBody(status: number): boolean {
  return Number.isInteger(status) && ((status >= 200 && status <= 299 && status !== 204 && status !== 205) || (status >= 400 && status <= 599));
}
