// The logger Vela writes through. Apps replace it with their own (pino, winston…) by passing any
// object with these four methods to bootstrap; the default is pino, writing JSON lines to stdout.
import { createRequire } from 'node:module';
import { pino, stdSerializers, type DestinationStream } from 'pino';
import { InjectionToken } from '../di/token.js';

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/** Injects the app's logger: `constructor(@Inject(LOGGER) private readonly log: Logger)`. */
export const LOGGER = new InjectionToken<Logger>('LOGGER');

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

/**
 * The default logger: pino, one JSON line per event on stdout
 * (`{"level":30,"time":…,"pid":…,"hostname":…,"method":"GET","path":"/","status":200,"msg":"request"}`),
 * an `error` field serialised with its type, message and stack. The level comes from `LOG_LEVEL`
 * unless given. Lines are written in batches (4 KiB, or 100 ms after the first line of a batch,
 * whichever comes first), and flushed by `flush()` (`app.close()` calls it) and when the process
 * exits; with
 * `NODE_ENV=development` they are pretty-printed (pino-pretty) and written synchronously instead.
 */
export function consoleLogger(level: LogLevel = envLevel()): Logger & { flush(): void } {
  const development = process.env.NODE_ENV === 'development';
  const out = development ? { stream: prettyStream(), flush: () => {} } : batchedStdout();
  const log = pino({ level, serializers: { error: stdSerializers.err } }, out.stream);
  return {
    debug: (message, fields) => (fields ? log.debug(fields, message) : log.debug(message)),
    info: (message, fields) => (fields ? log.info(fields, message) : log.info(message)),
    warn: (message, fields) => (fields ? log.warn(fields, message) : log.warn(message)),
    error: (message, fields) => (fields ? log.error(fields, message) : log.error(message)),
    flush: out.flush,
  };
}

/**
 * A line of a request log costs a write; batched, a busy server pays one write per many lines.
 * At most PIPE_BUF (4 KiB on Linux), so that a batch reaches a pipe whole even when several
 * processes (workers) share one stdout: lines of different processes never interleave.
 */
const BATCH_BYTES = 4096;
/** How long a line may wait in a batch that is not full: a quiet server still logs promptly. */
const BATCH_MS = 100;

/**
 * Lines encoded into one buffer until the next could overflow BATCH_BYTES or BATCH_MS have passed
 * since the first of them, whichever is sooner, then written in one synchronous write through
 * sonic-boom (pino's own destination, which also waits out a full pipe's EAGAIN). Each line is
 * encoded once, as it comes: joining lines into a string for the write measured 2 µs per line in a
 * server (the join flattens pino's concatenated strings, then the write encodes the result), the
 * buffer 0.1 µs. Synchronous also means a reader that stops reading holds the process back rather
 * than growing its memory without bound, as pino's own asynchronous default does.
 */
function batchedStdout(): { stream: DestinationStream; flush: () => void } {
  const sink = pino.destination({ dest: 1, sync: true, contentMode: 'buffer' });
  // In contentMode 'buffer' sonic-boom writes buffers; its types know only its string mode.
  const writeBytes = (bytes: Buffer) => void (sink as unknown as { write(bytes: Buffer): boolean }).write(bytes);
  let batch: Buffer | undefined;
  let used = 0;
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (batch === undefined) return;
    // A fresh buffer per batch: the one written is never reused.
    const full = batch.subarray(0, used);
    batch = undefined;
    used = 0;
    writeBytes(full);
  };
  flushAtExit(flush);
  const write = (line: string) => {
    // UTF-8 takes at most 3 bytes per UTF-16 unit: what may not fit is never started.
    const most = line.length * 3;
    if (batch !== undefined && used + most > BATCH_BYTES) flush();
    // A line longer than a batch (an error's stack) is written alone, after the batch before it.
    if (most > BATCH_BYTES) return writeBytes(Buffer.from(line));
    batch ??= Buffer.allocUnsafe(BATCH_BYTES);
    used += batch.write(line, used);
    if (timer) return;
    timer = setTimeout(flush, BATCH_MS);
    // Not what keeps a process alive: the exit hook writes what is left.
    timer.unref();
  };
  return { stream: { write }, flush };
}

/**
 * Writes every batch still held when the process exits (`process.exit()` included). Held weakly:
 * an app made and dropped (a test's) leaves one empty WeakRef, not its logger.
 */
const atExit = new Set<WeakRef<() => void>>();
function flushAtExit(flush: () => void): void {
  if (atExit.size === 0) process.once('exit', () => atExit.forEach((ref) => ref.deref()?.()));
  atExit.add(new WeakRef(flush));
}

/**
 * pino-pretty's formatter in front of a synchronous stdout, so that a line is on the terminal
 * before the next statement runs and none is lost when `vela serve` restarts the app. Loaded only
 * in development: production never pays for it, nor needs it installed.
 */
function prettyStream(): DestinationStream {
  const { prettyFactory } = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
  const pretty = prettyFactory({ colorize: process.stdout.isTTY === true, errorLikeObjectKeys: ['error', 'err'] });
  const out = pino.destination({ dest: 1, sync: true });
  return { write: (line: string) => void out.write(pretty(line)) };
}

function envLevel(): LogLevel {
  const level = process.env.LOG_LEVEL?.toLowerCase();
  return LEVELS.find((known) => known === level) ?? 'info';
}
