// Vitest global setup. Apps under test serve the browser client from dist/client, as the installed
// package does (src/files/client-script.ts), and vitest runs the sources, not the build. `npm ci`
// builds dist (`prepare`); this rebuilds the client when it is missing or older than src/client,
// so a test run after editing the client serves the edit without an `npm run build` first.
import { execFile } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const root = new URL('../..', import.meta.url).pathname;

export default async function buildClient(): Promise<void> {
  const built = statSync(join(root, 'dist/client/index.js'), { throwIfNoEntry: false })?.mtimeMs ?? 0;
  const sources = join(root, 'src/client');
  const newest = Math.max(...readdirSync(sources).map((name) => statSync(join(sources, name)).mtimeMs));
  if (built >= newest) return;
  const tsc = join(root, 'node_modules/typescript/bin/tsc');
  await promisify(execFile)(process.execPath, [tsc, '-p', sources]).catch((error: { stdout?: string }) => {
    throw new Error(`building the browser client (tsc -p src/client) failed:\n${error.stdout ?? String(error)}`);
  });
}
