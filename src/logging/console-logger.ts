// The default logger: pino, JSON lines on stdout, in batches in production (stdout-batch.ts), and
// pretty-printed for people in development.
import { createRequire } from 'node:module';
import { pino, stdSerializers, type DestinationStream } from 'pino';
import type { Logger, LogLevel } from './logger.js';
import { stdoutBatchLogger } from './stdout-batch.js';

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

/**
 * The default logger: pino, one JSON line per event on stdout
 * (`{"level":30,"time":…,"pid":…,"hostname":…,"method":"GET","path":"/","status":200,"msg":"request"}`),
 * an `error` field serialised with its type, message and stack. The level comes from `LOG_LEVEL`
 * unless given. Lines are written in batches (32 lines, or 100 ms after the first line of a batch,
 * whichever comes first; see stdout-batch.ts), and flushed by `flush()` (`app.close()` calls it)
 * and when the process exits; with
 * `NODE_ENV=development` they are pretty-printed (pino-pretty) and written synchronously instead.
 */
export function consoleLogger(level: LogLevel = envLevel()): Logger & { flush(): void } {
  if (process.env.NODE_ENV !== 'development') return stdoutBatchLogger(level);
  const log = pino({ level, serializers: { error: stdSerializers.err } }, prettyStream());
  return {
    debug: (message, fields) => (fields ? log.debug(fields, message) : log.debug(message)),
    info: (message, fields) => (fields ? log.info(fields, message) : log.info(message)),
    warn: (message, fields) => (fields ? log.warn(fields, message) : log.warn(message)),
    error: (message, fields) => (fields ? log.error(fields, message) : log.error(message)),
    flush: () => {},
  };
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
