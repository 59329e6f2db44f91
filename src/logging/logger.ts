// The logger Vela writes through. Apps replace it with their own (pino, winston…) by passing any
// object with these four methods to bootstrap; the default is consoleLogger (console-logger.ts).
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
