// A logger that keeps what it is told instead of printing it: a test app stays quiet, and a test
// can assert the lines it expects (an error logged with its controller, a warning on shutdown).
import type { LogFields, Logger } from '../index.js';

export interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  fields: LogFields;
}

export interface MemoryLogger extends Logger {
  /** Every line logged so far, oldest first, every level included. */
  readonly entries: LogEntry[];
}

/**
 * A `Logger` that records instead of printing. `startTestApp` uses one and exposes it as `app.logs`.
 *
 * @example
 * const logs = memoryLogger();
 * const app = await bootstrap(AppModule, { logger: logs });
 * expect(logs.entries).toContainEqual(expect.objectContaining({ level: 'error' }));
 */
export function memoryLogger(): MemoryLogger {
  const entries: LogEntry[] = [];
  const at =
    (level: LogEntry['level']) =>
    (message: string, fields: LogFields = {}) => {
      entries.push({ level, message, fields });
    };
  return { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
