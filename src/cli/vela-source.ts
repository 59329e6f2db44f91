// Which `vela` dependency `vela new` writes: the Vela that runs it. Installed from the npm registry,
// that is a `^version` range. Run from a checkout (`npx vela new` in it, or `node dist/cli/main.js`)
// or from a tarball (`npx ./vela-0.1.0.tgz new`), no range would resolve to it, so the app gets a
// copy of it as a tarball in its own vendor/ folder, with `file:vendor/<tarball>` as the dependency.
// A tarball rather than a `file:` link to the checkout: it holds the built package alone, installs
// like a published one (no symlink into a checkout whose dist/ must stay built and whose
// node_modules the app would share), and the app keeps working, on any machine, when committed.
import { execFile } from 'node:child_process';
import { copyFile, mkdir, readFile, stat } from 'node:fs/promises';
import { basename, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CliError } from './cli-error.js';

/** The root of the vela package this file belongs to (dist/cli/ → ../../). */
const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url)).replace(/[/\\]$/, '');

/** Where the app's copy of Vela goes, relative to the app. */
const VENDOR = 'vendor';

export interface VelaSource {
  /** The dependency spec for the app's package.json. */
  spec: string;
  /** One sentence for the app's README saying where Vela comes from. */
  note: string;
  /** The tarball written into the app (relative to it), if any. */
  vendored?: string;
}

/** The `vela` dependency of an app created in `appDir` (which exists and is empty) by this Vela. */
export async function velaSource(appDir: string, version: string, root: string = PACKAGE_ROOT): Promise<VelaSource> {
  const parts = root.split(sep);
  const nodeModules = parts.indexOf('node_modules');
  if (nodeModules === -1) return vendored(appDir, await packCheckout(root, join(appDir, VENDOR)), 'packed from the Vela checkout that created this app');
  const project = parts.slice(0, nodeModules).join(sep);
  const tarball = await installedTarball(project, relative(project, root));
  if (tarball === undefined) return { spec: `^${version}`, note: `Vela comes from the npm registry (\`"vela": "^${version}"\` in package.json).` };
  await mkdir(join(appDir, VENDOR), { recursive: true });
  const copy = join(appDir, VENDOR, basename(tarball));
  await copyFile(tarball, copy).catch((error: NodeJS.ErrnoException) => {
    throw new CliError(`this vela was installed from ${tarball}, which is gone (${error.code}): pass --vela <tarball path or version range>.`);
  });
  return vendored(appDir, copy, 'a copy of the Vela tarball that created this app');
}

function vendored(appDir: string, tarball: string, origin: string): VelaSource {
  const path = relative(appDir, tarball).split(sep).join('/');
  return {
    spec: `file:${path}`,
    vendored: path,
    note:
      `Vela is installed from \`${path}\` (${origin}): commit it with the app. ` +
      'For another Vela, put its tarball there (`npm pack` in a Vela checkout), point `"vela"` in package.json at it, and run `npm install`.',
  };
}

/**
 * The tarball npm installed `packagePath` (inside `project`) from, when it was a local one: npm's
 * record of the install (node_modules/.package-lock.json) says `resolved: "file:…"`. Undefined for
 * the registry, or when there is no record.
 */
async function installedTarball(project: string, packagePath: string): Promise<string | undefined> {
  const record = await readFile(join(project, 'node_modules/.package-lock.json'), 'utf8').catch(() => undefined);
  if (record === undefined) return undefined;
  const packages = (JSON.parse(record) as { packages?: Record<string, { resolved?: string }> }).packages ?? {};
  const resolved = packages[packagePath.split(sep).join('/')]?.resolved;
  return resolved?.startsWith('file:') && resolved.endsWith('.tgz') ? resolve(project, resolved.slice('file:'.length)) : undefined;
}

/** `npm pack` in the checkout, into `destination`; its `prepare` script builds what changed first. */
async function packCheckout(root: string, destination: string): Promise<string> {
  await mkdir(destination, { recursive: true });
  const packed = await promisify(execFile)('npm', ['pack', '--json', '--pack-destination', destination], { cwd: root, maxBuffer: 64 * 1024 * 1024 }).catch(
    (error: { stdout?: string; stderr?: string; message: string }) => {
      const said = `${error.stdout ?? ''}${error.stderr ?? ''}`.trim().split('\n').slice(-12).join('\n') || error.message;
      throw new CliError(`packing the Vela checkout ${root} (npm pack) failed; run npm install there first, then vela new again:\n${said}`);
    },
  );
  // The JSON report follows whatever the build printed.
  const report = JSON.parse(packed.stdout.slice(packed.stdout.search(/^\[/m))) as { filename: string }[];
  const tarball = join(destination, report[0]!.filename);
  await stat(tarball);
  return tarball;
}
