// What bench/workers.mjs runs: bench/apps/workers.vela.ts bootstrapped as a plain JSON API (sessions,
// request log and logger off, as bench/http.mjs's `vela`), on 127.0.0.1 and the port in PORT.
// Alone (`node bench/workers-server.mjs`) it is the one-process baseline and prints `port=N`; under
// `vela start` every worker runs it and the primary prints the address. It imports nothing from
// bench/harness.mjs, whose SIGTERM handler would end a worker before it drains.
import { bootstrap } from 'vela';

const file = new URL('.build/apps/workers.vela.js', import.meta.url);
const { WorkersModule } = await import(file.href);
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const app = await bootstrap(WorkersModule, { host: '127.0.0.1', sessions: false, requestLog: false, logger: quiet });
if (!process.env.VELA_WORKER) {
  process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
  process.stdout.write(`port=${app.port}\n`);
}
