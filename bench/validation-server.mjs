// The servers bench/validation.mjs compares, one per child process (`node bench/validation-server.mjs
// KIND`), on 127.0.0.1 port 0, printing `port=N`: bench/apps/validation.vela.ts's app for KIND (none,
// hand, zod, valibot, arktype), bootstrapped as bench/http.mjs's "vela" server is ({ sessions: false,
// requestLog: false, logger: quiet }). Over IPC only (never through the port under test):
//   cpu        process.cpuUsage(), around each wrk run
//   validate   CPU µs per call of this server's own check alone (the library's `validate`, or the
//              hand-written check) on the bench's body, parsed afresh for each call as a request's is,
//              minus the parse: measured in this process, after its requests warmed the code up
//   share      CPU µs per call of Vela's own work around the library: Vela's route input reader on a
//              real Koa context holding the parsed body, minus the library's validate on the same
//              body; each call builds a fresh context (as a request does), in both arms
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { benchApp, serveParent } from './harness.mjs';

const KINDS = ['none', 'hand', 'zod', 'valibot', 'arktype'];
const kind = process.argv[2];
process.on('SIGTERM', () => process.exit(0));
if (!KINDS.includes(kind)) {
  console.error(`usage: node bench/validation-server.mjs ${KINDS.join('|')}`);
  process.exit(2);
}

const { bootstrap } = await import('vela');
const { BODY, SCHEMAS, handCheck, validationModule } = await benchApp('validation.vela');
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const app = await bootstrap(validationModule(kind), { port: 0, host: '127.0.0.1', sessions: false, requestLog: false, logger: quiet });
const text = JSON.stringify(BODY);

/** CPU µs per call of `fn` over `calls` calls (after a tenth as many unmeasured). */
function cpuPerCall(fn, calls) {
  for (let i = 0; i < calls / 10; i++) fn();
  const before = process.cpuUsage();
  for (let i = 0; i < calls; i++) fn();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / calls;
}

/** The check this server runs on a body: the schema's validate, or the hand-written one. */
function check() {
  if (kind === 'hand') return (body) => handCheck(body);
  const schema = SCHEMAS[kind];
  return (body) => schema['~standard'].validate(body);
}

serveParent({
  cpu: () => ({ cpu: process.cpuUsage() }),
  validate({ calls }) {
    if (kind === 'none') return { us: 0 };
    const run = check();
    // A fresh object per call, as JSON.parse gives each request; the parse itself is taken off.
    const parseOnly = cpuPerCall(() => JSON.parse(text), calls);
    const parseAndCheck = cpuPerCall(() => run(JSON.parse(text)), calls);
    return { us: parseAndCheck - parseOnly };
  },
  async share({ calls }) {
    if (!(kind in SCHEMAS)) return { us: 0 };
    const { inputReader } = await import('../dist/http/route-input.js');
    const schema = SCHEMAS[kind];
    const read = inputReader({ body: schema }, 'UsersController.create');
    const context = () => {
      const req = new IncomingMessage(new Socket());
      req.method = 'POST';
      req.url = '/users';
      req.headers = { host: '127.0.0.1', 'content-type': 'application/json' };
      const ctx = app.koa.createContext(req, new ServerResponse(req));
      ctx.request.body = JSON.parse(text);
      ctx.params = {};
      return ctx;
    };
    const shares = [];
    // Alternated, several times: the difference is small next to each arm.
    for (let i = 0; i < 5; i++) {
      const library = cpuPerCall(() => schema['~standard'].validate(context().request.body), calls);
      const vela = cpuPerCall(() => read(context()), calls);
      shares.push(vela - library);
    }
    shares.sort((a, b) => a - b);
    return { us: shares[2] };
  },
});
process.stdout.write(`port=${app.server.address().port}\n`);
