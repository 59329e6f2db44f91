// Boots an app the way every test wants it: a free port on 127.0.0.1, logs kept in memory, and
// closed after the test.
import { afterEach } from 'vitest';
import { bootstrap, type App, type BootstrapOptions, type Class } from '../../src/index.js';
import { memoryLogger, type MemoryLogger } from './memory-logger.js';

const open: App[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((app) => app.close()));
});

export interface TestApp extends App {
  log: MemoryLogger;
  fetch(path: string, init?: RequestInit): Promise<Response>;
}

export async function start(root: Class, options: BootstrapOptions = {}): Promise<TestApp> {
  const log = memoryLogger();
  // requestLog off: tests assert the lines they expect, not one per request (turn it on to test it).
  const app = await bootstrap(root, { port: 0, host: '127.0.0.1', logger: log, requestLog: false, ...options });
  open.push(app);
  return Object.assign(app, { log, fetch: (path: string, init?: RequestInit) => fetch(app.url + path, init) });
}
