// Starts the app: `npm start`, or `npx vela serve` to restart it on every change.
import { bootstrap } from 'vela';
import { AppModule } from './app.module.js';

const app = await bootstrap(AppModule); // port 8080, or PORT
app.logger.info('listening', { url: app.url });

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void app.close().then(() => process.exit(0)));
}
