// The `none` variant of bench/telemetry.mjs, "no telemetry code at all": Vela built from a commit of
// main before telemetry entered it, in a detached git worktree of its own under the system's temp
// directory that lives only as long as the bench (removed when it ends, normally, on an error or on
// Ctrl-C), with this checkout's node_modules linked in, so both Velas run the very same dependencies.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { track } from './harness.mjs';

const root = new URL('..', import.meta.url).pathname;

/**
 * bbea2b6 "Issue 17 follow-ups…": the last commit before tracing landed on main (rebased onto it,
 * so `git log --first-parent main` lists its commits one by one). The next one, e4aceab, only adds
 * @opentelemetry/api to package.json; a8f0ec8 brings src/telemetry.
 */
export const DEFAULT_BASELINE = 'bbea2b6c969e3798c3150dfa63a49220463ff808';

const git = (...args) => execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

/**
 * Checks out and builds `commit` (`npx tsc -p tsconfig.build.json`: the client bundle is not needed).
 * Refuses a commit that has src/telemetry or names @opentelemetry anywhere in src/. Resolves with
 * { commit, subject, dist (file URL of its dist/index.js), dir, buildS, remove() }.
 */
export async function prepareBaseline(commit = DEFAULT_BASELINE) {
  let full;
  try {
    full = git('rev-parse', '--verify', `${commit}^{commit}`);
  } catch {
    throw new Error(`bench/telemetry.mjs --baseline ${commit}: not a commit of this repository; give a hash or ref from \`git log --oneline --first-parent main\``);
  }
  if (git('ls-tree', full, 'src/telemetry')) {
    throw new Error(`bench/telemetry.mjs --baseline ${commit}: that commit has src/telemetry; the none variant needs one from before telemetry (default ${DEFAULT_BASELINE.slice(0, 7)})`);
  }
  const named = gitGrep(full, '@opentelemetry', 'src');
  if (named) throw new Error(`bench/telemetry.mjs --baseline ${commit}: its src/ names @opentelemetry (${named}); the none variant needs a commit without telemetry code`);

  const temp = mkdtempSync(join(tmpdir(), 'vela-bench-baseline-'));
  const dir = join(temp, 'vela');
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    try {
      git('worktree', 'remove', '--force', dir);
    } catch {}
    rmSync(temp, { recursive: true, force: true });
    try {
      git('worktree', 'prune');
    } catch {}
  };
  // Synchronous, so that it also runs from the exit handler harness.mjs reaches on errors and signals.
  process.on('exit', remove);
  try {
    git('worktree', 'add', '--detach', dir, full);
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
    const t0 = performance.now();
    await build(dir);
    const buildS = (performance.now() - t0) / 1000;
    return { commit: full, subject: git('log', '-1', '--format=%s', full), dist: pathToFileURL(join(dir, 'dist/index.js')).href, dir, buildS, remove };
  } catch (error) {
    remove();
    throw error;
  }
}

/** The files of `commit` under `path` that contain `text`, comma-separated; '' when none. */
function gitGrep(commit, text, path) {
  try {
    return git('grep', '-l', '-F', text, commit, '--', path).replaceAll(`${commit}:`, '').split('\n').join(', ');
  } catch (error) {
    if (error.status === 1) return ''; // git grep: no match
    throw error;
  }
}

/** `npx tsc -p tsconfig.build.json` in `dir`, killed with the bench if it ends first. */
function build(dir) {
  return new Promise((resolve, reject) => {
    track(
      execFile('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: dir, encoding: 'utf8' }, (error, stdout, stderr) => {
        if (error) reject(new Error(`building the baseline in ${dir} failed (npx tsc -p tsconfig.build.json):\n${stdout}${stderr}`));
        else resolve();
      }),
    );
  });
}
