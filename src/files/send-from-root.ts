// Serves one file from a root directory. @fastify/send decides the answer — Range (206/416),
// conditional GET (304/412), HEAD, index files, dotfiles, `..` — and returns status, headers and a
// stream instead of writing to `res`, so Koa writes the response and refusals reach Vela's status
// pages. Vela adds what send leaves out: send checks the path lexically, so a symlink is followed
// only when its real target stays inside the real root; only regular files are opened (opening a
// FIFO blocks until a writer comes, holding a libuv thread); and a file that yields fewer bytes
// than its Content-Length (truncated while sent) fails the response instead of ending it short.
import { ReadStream, type Stats } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { once } from 'node:events';
import { isAbsolute, relative, sep } from 'node:path';
import { Transform, pipeline, type Readable } from 'node:stream';
import send, { type SendOptions } from '@fastify/send';
import type { Context } from 'koa';
import { HttpError } from '../http/http-error.js';

/** What Vela lets callers choose; `root` is required and dotfiles are always ignored (404). */
export type FileSendOptions = Pick<
  SendOptions,
  'acceptRanges' | 'cacheControl' | 'contentType' | 'etag' | 'immutable' | 'index' | 'lastModified' | 'maxAge'
> & { root: string };

/** A file to stream (status, headers, body), or a directory the URL should end with `/` for. */
export type FileAnswer =
  | { type: 'file'; statusCode: number; headers: Record<string, string>; stream: Readable }
  | { type: 'directory' };

/**
 * Looks up `urlPath` (URL-encoded, relative to `options.root`; a leading `/` stays inside the root).
 * Throws an HttpError for every refusal: 404 missing, dotfile or outside the root, 403 `..`,
 * 400 malformed or NUL byte, 412, 416 (with `Content-Range`), 500 not a regular file.
 */
export async function sendFromRoot(ctx: Context, urlPath: string, options: FileSendOptions): Promise<FileAnswer> {
  const result = await send(ctx.req, urlPath, {
    ...options,
    dotfiles: 'ignore',
    onFile: async (file, stat) => {
      assertRegularFile(file, stat);
      await assertInside(options.root, file);
    },
  });
  if (result.type === 'error') throw HttpError.from(result.metadata.error);
  if (result.type === 'directory') {
    await assertInside(options.root, result.metadata.path);
    return { type: 'directory' };
  }
  // send stats the file but opens it lazily: wait for the open, so a file that cannot be read
  // (removed since, not a regular file) fails here, through the status pages, not mid-response.
  if (!(result.stream instanceof ReadStream)) return { type: 'file', statusCode: result.statusCode, headers: result.headers, stream: result.stream };
  await once(result.stream, 'open');
  const stream = exactLength(result.stream, Number(result.headers['Content-Length']), result.metadata.path);
  return { type: 'file', statusCode: result.statusCode, headers: result.headers, stream };
}

/**
 * A 500 (logged, its message private) for a FIFO, socket or device, before it is opened: opening a
 * FIFO waits for a writer, and a device may never end. Its being there is a deployment mistake to
 * see in the log, not a missing file.
 */
function assertRegularFile(file: string, stat: Stats): void {
  if (stat.isFile()) return;
  const kind = stat.isFIFO() ? 'a FIFO' : stat.isSocket() ? 'a socket' : 'a device or special file';
  throw new HttpError(500, `${file} is ${kind}, not a regular file: sendfile and static routes only serve regular files.`);
}

/**
 * `file`'s stream, failing with an error if it ends before `length` bytes: the headers promised
 * that many, and a body ended short would leave a keep-alive client waiting for the rest. Koa then
 * cuts the connection, so the client sees an incomplete response. The file is closed however the
 * response ends.
 */
function exactLength(file: ReadStream, length: number, path: string): Readable {
  let sent = 0;
  const guard = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      sent += chunk.length;
      callback(null, chunk);
    },
    flush(callback) {
      callback(sent === length ? null : new Error(`${path} ended after ${sent} of ${length} bytes: the file changed (truncated or replaced) while it was sent.`));
    },
  });
  // Errors reach Koa through `guard`; here they only close the file.
  pipeline(file, guard, () => {});
  return guard;
}

/** 404 unless `file`'s real path is inside `root`'s real path: to the client, as if it did not exist. */
async function assertInside(root: string, file: string): Promise<void> {
  const [realRoot, realFile] = await Promise.all([realpath(root), realpath(file)]);
  const within = relative(realRoot, realFile);
  if (within !== '..' && !within.startsWith(`..${sep}`) && !isAbsolute(within)) return;
  throw new HttpError(404, 'Not Found', { cause: new Error(`${file} resolves to ${realFile}, outside ${realRoot}`) });
}
