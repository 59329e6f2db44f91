// The logger Vela writes through. Apps replace it with their own (pino, winston…) by passing any
// object with these four methods to bootstrap; the default is pino, writing JSON lines to stdout.
import { createRequire } from 'node:module';
import { pino, stdSerializers, type DestinationStream } from 'pino';
import { InjectionToken } from './di/token.js';

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
 * unless given. Lines are written asynchronously, a batch per write while the previous one is in
 * flight, and flushed when the process exits; with `NODE_ENV=development` they are pretty-printed
 * (pino-pretty) and written synchronously instead.
 */
export function consoleLogger(level: LogLevel = envLevel()): Logger {
  const development = process.env.NODE_ENV === 'development';
  const log = pino(
    { level, serializers: { error: stdSerializers.err } },
    development ? prettyStream() : pino.destination({ dest: 1, sync: false }),
  );
  return {
    debug: (message, fields) => (fields ? log.debug(fields, message) : log.debug(message)),
    info: (message, fields) => (fields ? log.info(fields, message) : log.info(message)),
    warn: (message, fields) => (fields ? log.warn(fields, message) : log.warn(message)),
    error: (message, fields) => (fields ? log.error(fields, message) : log.error(message)),
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
