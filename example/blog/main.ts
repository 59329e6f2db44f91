// Runs the blog from the repository root: `npm start`, then open http://localhost:8080/.
// `BLOG_TELEMETRY=1 npm start` prints the trace spans of every request, socket and broadcast.
import { bootstrap } from 'vela';
import { AppModule, BLOG_OPTIONS, blogMetrics } from './app.module.js';

// Before bootstrap, as an app registers its OpenTelemetry SDK; loaded only when asked for.
const stopTracing = process.env.BLOG_TELEMETRY ? (await import('./telemetry.js')).startTracing() : undefined;
const app = await bootstrap(AppModule, { ...BLOG_OPTIONS, metrics: blogMetrics() });
app.logger.info('blog listening', { url: app.url });

// Graceful: sockets get 1001, requests in flight finish (up to shutdownTimeout), then exit 0. Once
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
