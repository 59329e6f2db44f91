// Runs the blog from the repository root: `npm start`, then open http://localhost:8080/. Its posts,
// comments, users and sessions are kept in example/data/blog.db (BLOG_DATA_DIR=dir to keep them elsewhere).
// `BLOG_TELEMETRY=1 npm start` prints the trace spans of every request, socket and broadcast.
import type { AddressInfo } from 'node:net';
import { bootstrap } from 'vela';
import { AppModule, BLOG_OPTIONS, blogMetrics } from './app.module.js';
import { BLOG_DB_FILE, blogDataFile } from './data/blog-database.js';
import { SqliteSessionStore } from './data/session-store.js';

// Before bootstrap, as an app registers its OpenTelemetry SDK; loaded only when asked for.
const stopTracing = process.env.BLOG_TELEMETRY ? (await import('./telemetry.js')).startTracing() : undefined;
const file = blogDataFile();
const app = await bootstrap(AppModule, {
  ...BLOG_OPTIONS,
  metrics: blogMetrics(),
  // Sign-ins kept in the same file: a restart signs no one out.
  sessions: { store: new SqliteSessionStore(file) },
  overrides: [{ provide: BLOG_DB_FILE, useValue: file }],
});
// What it listens on (every interface unless HOST says otherwise), and a URL this machine can open.
const { address, port } = app.server.address() as AddressInfo;
const everywhere = address === '::' || address === '0.0.0.0';
app.logger.info('blog listening', { on: everywhere ? `every interface, port ${port}` : `${address}:${port}`, url: app.url });

// Graceful: sockets get 1001, requests in flight finish (up to shutdownTimeout), the database is
// closed (BlogDatabase.onClose), then exit 0. Once
// only: a second Ctrl-C or SIGTERM ends the process at once, as Node does by default.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    app.logger.info('shutting down', { signal });
    app.close().then(
      async () => {
        await stopTracing?.();
        process.exit(0);
      },
      (error: unknown) => {
        app.logger.error('shutdown failed', { error });
        process.exit(1);
      },
    );
  });
}
