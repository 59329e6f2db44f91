// startTestApp: an app booted the way a test wants it — a free port on 127.0.0.1, pub/sub in
// memory, logs kept instead of printed, providers replaced — with an HTTP client and WebSockets
// that share one cookie jar, as a browser's page and sockets do. app.close() closes all of it, so
// the helpers need no test runner: call it (or closeTestApps()) in your afterEach.
import { bootstrap, memoryPubSub, type App, type BootstrapOptions, type Class, type Provider } from '../index.js';
import { CookieJar } from './cookie-jar.js';
import { FetchClient, type HttpClient } from './http-client.js';
import { memoryLogger, type MemoryLogger } from './memory-logger.js';
import { openSocket, UpgradeRefusedError, type SocketOptions, type TestSocket } from './ws-client.js';

export interface TestAppOptions extends Omit<BootstrapOptions, 'port' | 'host' | 'logger' | 'overrides'> {
  /** Default 0, a free port. Give one to start an app again where its clients expect it (reconnects). */
  port?: number;
  /** Replace the modules' providers, e.g. `[{ provide: MAILER, useValue: fakeMailer }]`. */
  providers?: Provider[];
}

/** One browser: an HTTP client and WebSockets sharing its cookies (so its session). */
export interface TestClient {
  readonly http: HttpClient;
  /** Opens a WebSocket to `path` with this client's cookies; resolves once it is open. */
  ws(path: string, options?: SocketOptions): Promise<TestSocket>;
  /**
   * Attempts an upgrade to `path` that the app must refuse; resolves with the refusal (its
   * `status`, `headers` and `body`), rejects if the socket opened.
   *
   * @example
   * const refused = await app.wsRefusal('/admin', { headers: { origin: 'https://evil.example' } });
   * expect(refused.status).toBe(403);
   */
  wsRefusal(path: string, options?: SocketOptions): Promise<UpgradeRefusedError>;
}

export interface TestApp extends App, TestClient {
  /** Every line the app logged; nothing is printed. */
  readonly logs: MemoryLogger;
  /** Another client, with a cookie jar of its own: a second browser, so a second session. */
  client(): TestClient;
  /**
   * Cuts the HTTP responses the test holds (read what you need first), closes the app — requests
   * still waiting finish, every socket gets 1001, as in production — then cuts any socket still
   * open. Call it after each test.
   */
  close(): Promise<void>;
}

/**
 * Boots `root` for a test: a free port (or `port`) on 127.0.0.1, `memoryPubSub()`, logs in
 * `app.logs`, no request log lines, a 2 s `shutdownTimeout`, and `providers` replacing the modules'
 * own. Other bootstrap options (`sessions`, `middleware`, `views`, `pubsub`…) pass through.
 *
 * @example
 * const app = await startTestApp(AppModule, { providers: [{ provide: UserStore, useValue: fakeStore }] });
 * const res = await app.http.get('/api/users/1');
 * const ws = await app.ws('/comments');
 * await app.close();
 */
export async function startTestApp(root: Class, options: TestAppOptions = {}): Promise<TestApp> {
  const { providers, port = 0, ...rest } = options;
  const logs = memoryLogger();
  const app = await bootstrap(root, {
    ...rest,
    // Off unless asked: tests assert the lines they expect, not one per request.
    requestLog: rest.requestLog ?? false,
    pubsub: rest.pubsub ?? memoryPubSub(),
    // Short: a test's shutdown should not outlast the runner's hook timeout (jest's is 5 s).
    shutdownTimeout: rest.shutdownTimeout ?? 2_000,
    port,
    host: '127.0.0.1',
    logger: logs,
    overrides: providers,
  });

  const https: FetchClient[] = [];
  // A function per socket still open, that cuts it.
  const sockets = new Set<() => Promise<void>>();
  let closing: Promise<void> | undefined;

  const client = (): TestClient => {
    const jar = new CookieJar();
    const http = new FetchClient(app.url, jar);
    https.push(http);
    const ws = (path: string, socketOptions?: SocketOptions) => {
      const label = `app.ws('${path}')`;
      if (closing) return Promise.reject(new Error(`${label} after app.close()`));
      return openSocket(new URL(app.url.replace(/^http/, 'ws') + path), label, jar, sockets, socketOptions);
    };
    const wsRefusal = async (path: string, socketOptions?: SocketOptions) => {
      const socket = await ws(path, socketOptions).catch((error: unknown) => {
        if (error instanceof UpgradeRefusedError) return error;
        throw error;
      });
      if (socket instanceof UpgradeRefusedError) return socket;
      await socket.close();
      throw new Error(`app.wsRefusal('${path}'): the upgrade was accepted, expected a refusal`);
    };
    return { http, ws, wsRefusal };
  };

  const close = async () => {
    for (const http of https) http.close();
    await app.close();
    await Promise.all([...sockets].map((cut) => cut()));
  };

  const browser = client();
  const testApp: TestApp = {
    ...app,
    logs,
    http: browser.http,
    ws: browser.ws,
    wsRefusal: browser.wsRefusal,
    client,
    close: () => (closing ??= close().finally(() => running.delete(testApp))),
  };
  running.add(testApp);
  return testApp;
}

// Apps started and not closed yet, for closeTestApps().
const running = new Set<TestApp>();

/**
 * Closes every app `startTestApp` started that is still open: one hook for a whole suite instead
 * of a `close()` in every test.
 *
 * @example
 * // vitest.setup.ts (listed in the config's test.setupFiles)
 * afterEach(closeTestApps);
 */
export async function closeTestApps(): Promise<void> {
  await Promise.all([...running].map((app) => app.close()));
}
