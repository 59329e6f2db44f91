// Runs the blog from the repository root: `npm start`, then open http://localhost:8080/.
import { bootstrap } from 'vela';
import { AppModule, BLOG_OPTIONS } from './app.module.js';

const app = await bootstrap(AppModule, BLOG_OPTIONS);
app.logger.info('blog listening', { url: app.url });

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    app.logger.info('shutting down', { signal });
    void app.close().then(() => process.exit(0));
  });
}
