// Runs a jsfuzz target for a bounded time and reports executions and coverage: `npm run fuzz`
// (builds first), or `node fuzz/run.mjs [--seconds 60] [--target ws-frames]`.
//
// jsfuzz instruments what it loads through require() only, and dist/ is ESM: the module under test
// (dist/ws/gateway-process.js and the few dist files it imports) is first bundled to CommonJS in
// fuzz/.build with esbuild, dependencies (ws) left external. jsfuzz has no run limit: after
// --seconds its process group gets SIGINT, on which the worker writes its coverage
// (fuzz/.nyc_output/cov.json) and exits. New corpus entries go to fuzz/.corpus (not versioned);
// fuzz/seeds holds the starting inputs. A crash is written to fuzz/crash-<sha256> and fails the run.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = fileURLToPath(new URL('..', import.meta.url));
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const seconds = Number(arg('seconds', '60'));
const target = arg('target', 'ws-frames');
if (!(seconds > 0)) throw new Error(`--seconds ${arg('seconds')}: a number of seconds > 0`);

/** Target name → the dist module it exercises and the function names whose coverage is reported. */
const TARGETS = {
  'ws-frames': { entry: 'dist/ws/gateway-process.js', bundle: 'gateway-process.js', focus: ['parseEvent', 'onFrame', 'perform'] },
};
const spec = TARGETS[target];
if (!spec) throw new Error(`--target ${target}: one of ${Object.keys(TARGETS).join(', ')}`);
if (!existsSync(`${root}${spec.entry}`)) throw new Error(`${spec.entry} is missing: run \`npm run build\` first`);

const out = `${here}.build`;
mkdirSync(out, { recursive: true });
// .js under a CommonJS package.json: istanbul's require hook only instruments .js files.
writeFileSync(`${out}/package.json`, '{ "type": "commonjs" }\n');
await build({
  entryPoints: [`${root}${spec.entry}`],
  outfile: `${out}/${spec.bundle}`,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  keepNames: true,
  logLevel: 'warning',
});

mkdirSync(`${here}.corpus`, { recursive: true });
rmSync(`${here}.nyc_output`, { recursive: true, force: true });
const crashesBefore = new Set(readdirSync(here).filter((f) => f.startsWith('crash-')));

const jsfuzz = `${root}node_modules/jsfuzz/build/src/index.js`;
const started = Date.now();
const child = spawn(
  process.execPath,
  [jsfuzz, `${target}.fuzz.cjs`, '.corpus', 'seeds', '--timeout', '10', '--rss-limit-mb', '1024'],
  { cwd: here, detached: true, stdio: ['ignore', 'pipe', 'inherit'] },
);
let last = '';
let firstCov;
let crashed = false;
child.stdout.setEncoding('utf8');
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  for (const line of chunk.split('\n')) {
    if (/^#\d+ (NEW|PULSE)/.test(line)) {
      last = line;
      firstCov ??= line;
    }
    if (/crash was written|timeout reached|MEMORY OOM/.test(line)) crashed = true;
  }
});
const stopAt = setTimeout(() => {
  try {
    process.kill(-child.pid, 'SIGINT');
  } catch {}
}, seconds * 1000);
const killAt = setTimeout(() => {
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {}
}, (seconds + 20) * 1000);
const code = await new Promise((resolve) => child.once('exit', (c, signal) => resolve(c ?? signal)));
clearTimeout(stopAt);
clearTimeout(killAt);
const elapsed = (Date.now() - started) / 1000;

const crashes = readdirSync(here).filter((f) => f.startsWith('crash-') && !crashesBefore.has(f));
const stats = (line) => {
  const m = /^#(\d+) \w+\s+cov: (\d+) corp: (\d+) exec\/s: (\d+) rss: ([\d.]+) MB/.exec(line ?? '');
  return m ? { execs: Number(m[1]), cov: Number(m[2]), corpus: Number(m[3]), execPerSec: Number(m[4]), rssMb: Number(m[5]) } : undefined;
};
const end = stats(last);

console.log(`\n---- fuzz ${target} summary ----`);
console.log(`node ${process.version}; jsfuzz ${JSON.parse(readFileSync(`${root}node_modules/jsfuzz/package.json`, 'utf8')).version}; ran ${elapsed.toFixed(0)} s (limit ${seconds} s); exit ${code}`);
if (end) {
  console.log(`executions: ${end.execs.toLocaleString('en-US')} (${Math.round(end.execs / elapsed).toLocaleString('en-US')}/s on average)`);
  console.log(`jsfuzz coverage counter: ${stats(firstCov)?.cov} at the first input → ${end.cov} (statements + functions + branches hit, all instrumented files)`);
  console.log(`corpus: ${end.corpus} inputs kept (fuzz/.corpus + fuzz/seeds); rss ${end.rssMb} MB`);
}
const covFile = `${here}.nyc_output/cov.json`;
if (existsSync(covFile)) {
  const coverage = JSON.parse(readFileSync(covFile, 'utf8'));
  for (const [file, data] of Object.entries(coverage)) {
    if (!file.includes(`${'.build'}/`)) continue;
    const pct = (hit, total) => `${hit}/${total} (${total ? ((100 * hit) / total).toFixed(1) : '0'}%)`;
    const s = Object.values(data.s);
    const b = Object.values(data.b).flat();
    const f = Object.values(data.f);
    console.log(
      `coverage of ${spec.entry} (bundled with its dist imports): statements ${pct(s.filter(Boolean).length, s.length)}, ` +
        `branches ${pct(b.filter(Boolean).length, b.length)}, functions ${pct(f.filter(Boolean).length, f.length)}`,
    );
    for (const name of spec.focus) {
      // A named function is in fnMap; a #private method is not (this istanbul predates them): its
      // lines are found in the bundle, from its declaration to the brace closing it.
      const lines = readFileSync(file, 'utf8').split('\n');
      const fn = Object.entries(data.fnMap).find(([, meta]) => meta.name === name);
      let range;
      if (fn) {
        range = { start: fn[1].loc.start.line, end: fn[1].loc.end.line };
      } else {
        const at = lines.findIndex((l) => new RegExp(`^\\s*(static\\s+)?(async\\s+)?#?${name}\\(`).test(l));
        if (at < 0) continue;
        const indent = /^\s*/.exec(lines[at])[0];
        const close = lines.findIndex((l, i) => i > at && l === `${indent}}`);
        range = { start: at + 1, end: close + 1 };
      }
      const inside = (loc) => loc.start.line >= range.start && loc.end.line <= range.end;
      const statements = Object.entries(data.statementMap).filter(([, loc]) => inside(loc));
      const ss = statements.map(([k]) => data.s[k]);
      const bb = Object.entries(data.branchMap).filter(([, br]) => inside(br.loc)).flatMap(([k]) => data.b[k]);
      const calls = fn ? data.f[fn[0]] : data.s[statements[0]?.[0]] ?? 0;
      console.log(
        `  ${name} (bundle lines ${range.start}–${range.end}): statements ${pct(ss.filter(Boolean).length, ss.length)}, ` +
          `branches ${pct(bb.filter(Boolean).length, bb.length)}, entered ${calls.toLocaleString('en-US')} times`,
      );
    }
  }
} else {
  console.log('no coverage file: the worker did not exit through SIGINT (see above)');
}
if (crashed || crashes.length) {
  console.log(`CRASH: ${crashes.map((c) => `fuzz/${c}`).join(', ') || 'see the output above'}`);
  process.exit(1);
}
console.log('no crash, no invariant violation');
