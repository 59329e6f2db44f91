// Cold start of the example blog: from spawning `node` to the first answered request, and the part
// of it spent in bootstrap(). Run with `npm run bench:cold-start` (builds first). Bounded: 10 runs.
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { commit, preflight } from './preflight.mjs';

preflight();

const RUNS = 10;
const entry = new URL('../example/.build/blog/main.js', import.meta.url).pathname;

async function once() {
  const started = performance.now();
  const child = spawn(process.execPath, [entry], {
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const url = await new Promise((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error('no "blog listening" line within 10 s')), 10_000);
      child.stdout.on('data', (chunk) => {
        out += chunk;
        const match = /"url":"([^"]+)"/.exec(out); // the JSON line of app.logger.info('blog listening', { url })
        if (match) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
      child.once('exit', (code) => reject(new Error(`example exited with ${code}`)));
    });
    const listening = performance.now();
    const res = await fetch(`${url}/api/users`);
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`GET /api/users answered ${res.status}`);
    return { listening: listening - started, firstResponse: performance.now() - started };
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve)));
  }
}

const started = performance.now();
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const runs = [];
for (let i = 0; i < RUNS; i++) runs.push(await once());
const fmt = (ms) => `${ms.toFixed(0)} ms`;
const spread = (xs) => `median ${fmt(median(xs))} (min ${fmt(Math.min(...xs))} – max ${fmt(Math.max(...xs))})`;
console.log(`example/blog cold start over ${RUNS} runs (node ${process.version}):`);
console.log(`  spawn → listening:       median ${fmt(median(runs.map((r) => r.listening)))}`);
console.log(`  spawn → first response:  median ${fmt(median(runs.map((r) => r.firstResponse)))}`);
console.log(
  [
    '',
    '---- cold-start summary ----',
    'command: npm run bench:cold-start',
    `date: ${new Date().toISOString()}   node: ${process.version}   NODE_ENV=production   (shared, noisy machine)`,
    `commit: ${commit()}`,
    `setup: example/blog (example/.build/blog/main.js, tsc output), PORT=0, LOG_LEVEL=info; ${RUNS} runs one after the other`,
    `spawn → "blog listening" line: ${spread(runs.map((r) => r.listening))}`,
    `spawn → first response (GET /api/users, 200): ${spread(runs.map((r) => r.firstResponse))}`,
    `total run time: ${((performance.now() - started) / 1000).toFixed(0)} s`,
  ].join('\n'),
);
