// What every bench checks before it measures anything, so that no figure comes from the wrong build
// or mode: NODE_ENV=production (what users deploy, and what Koa and the rest are tuned for), a dist/
// no older than src/, and the commit measured (with "dirty" when the tree has changes).
import { execSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';

const root = new URL('..', import.meta.url).pathname;

/** Throws, saying what to do, unless NODE_ENV=production and dist/ is built from the current src/. */
export function preflight() {
  if (process.env.NODE_ENV !== 'production') {
    throw new Error(
      `benchmarks run under NODE_ENV=production (got ${process.env.NODE_ENV === undefined ? 'no NODE_ENV' : `NODE_ENV=${process.env.NODE_ENV}`}): ` +
        'use the npm scripts (npm run bench:http…), which set it, or prefix the command with NODE_ENV=production.',
    );
  }
  const built = `${root}dist/index.js`;
  if (!existsSync(built)) throw new Error('dist/ is missing: run `npm run build` first (the npm bench scripts do).');
  // The newest file of dist/, not dist/index.js: the build is incremental (scripts/build.mjs), so it
  // rewrites only what changed, and stamps dist/tsconfig.build.tsbuildinfo on every build.
  const stale = newestFile(`${root}src`);
  if (stale.mtimeMs > newestFile(`${root}dist`).mtimeMs) {
    throw new Error(`dist/ is older than ${stale.path.slice(root.length)}: run \`npm run build\` (the npm bench scripts do) so that what is measured is the current src/.`);
  }
}

/** `git rev-parse HEAD`, plus " dirty" when the working tree differs from it; "unknown" outside git. */
export function commit() {
  try {
    const head = execSync('git rev-parse HEAD', { cwd: root, encoding: 'utf8' }).trim();
    const dirty = execSync('git status --porcelain --untracked-files=no', { cwd: root, encoding: 'utf8' }).trim();
    return dirty ? `${head} dirty` : head;
  } catch {
    return 'unknown';
  }
}

function newestFile(dir) {
  let newest = { path: dir, mtimeMs: 0 };
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    const found = entry.isDirectory() ? newestFile(path) : { path, mtimeMs: statSync(path).mtimeMs };
    if (found.mtimeMs > newest.mtimeMs) newest = found;
  }
  return newest;
}
