// What each `vela start` worker of bench/workers-sockets.mjs runs: bench/apps/fanout.vela.ts with
// bootstrap's defaults (in a worker: clusterPubSub, clusterSessionStore), logger quiet, on 127.0.0.1
// and the port in PORT. It imports nothing from bench/harness.mjs, whose SIGTERM handler would end
// a worker before it drains.
import { bootstrap } from 'vela';

const file = new URL('.build/apps/fanout.vela.js', import.meta.url);
const { FanoutModule } = await import(file.href);
const quiet = { debug() {}, info() {}, warn: (message, fields) => console.warn(message, fields), error: (message, fields) => console.error(message, fields) };
await bootstrap(FanoutModule, { host: '127.0.0.1', requestLog: false, logger: quiet });
