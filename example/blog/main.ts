// Runs the blog: `npm start`, then `curl localhost:8080/api/users`.
import { bootstrap } from 'vela';
import { AppModule } from './app.module.js';

const app = await bootstrap(AppModule);
app.logger.info('blog listening', { url: app.url });

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    app.logger.info('shutting down', { signal });
    void app.close().then(() => process.exit(0));
  });
}
