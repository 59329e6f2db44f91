// Runs the blog from the repository root: `npm start`, then open http://localhost:8080/.
import { bootstrap } from 'vela';
import { AppModule, BLOG_OPTIONS, blogMetrics } from './app.module.js';

const app = await bootstrap(AppModule, { ...BLOG_OPTIONS, metrics: blogMetrics() });
app.logger.info('blog listening', { url: app.url });

// Graceful: sockets get 1001, requests in flight finish (up to shutdownTimeout), then exit 0. Once
// only: a second Ctrl-C or SIGTERM ends the process at once, as Node does by default.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    app.logger.info('shutting down', { signal });
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        app.logger.error('shutdown failed', { error });
        process.exit(1);
      },
    );
  });
}
