// The logger Vela writes through. Apps replace it with their own (pino, winston…) by passing any
// object with these four methods to bootstrap; the default writes one line per event.
import { inspect } from 'node:util';
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

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/**
 * `level=error msg="request failed" method=GET path=/x`, with an error's stack on the lines after.
 * The level comes from `LOG_LEVEL` unless given.
 */
export function consoleLogger(level: LogLevel = envLevel()): Logger {
  const write = (at: Exclude<LogLevel, 'silent'>) => (message: string, fields: LogFields = {}) => {
    if (ORDER[at] < ORDER[level]) return;
    const stream = at === 'error' || at === 'warn' ? process.stderr : process.stdout;
    const { error, ...rest } = fields;
    const pairs = Object.entries(rest).map(([k, v]) => `${k}=${format(v)}`);
    const stack = error instanceof Error ? `\n${error.stack ?? error.message}` : error === undefined ? '' : ` error=${format(error)}`;
    stream.write(`${new Date().toISOString()} ${at} ${JSON.stringify(message)} ${pairs.join(' ')}${stack}\n`);
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

function envLevel(): LogLevel {
  const level = process.env.LOG_LEVEL?.toLowerCase();
  return level && level in ORDER ? (level as LogLevel) : 'info';
}

function format(value: unknown): string {
  if (typeof value === 'string') return /^[\w./:@-]+$/.test(value) ? value : JSON.stringify(value);
  return inspect(value, { breakLength: Infinity, depth: 3 });
}
