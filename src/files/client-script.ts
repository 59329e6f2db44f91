// bootstrap({ client: true }) serves the browser client, `vela/client`, at /vela/client.js, so a
// page can `import { connect } from '/vela/client.js'` without a bundler. The file is this
// package's dist/client/index.js, and the modules it imports are served beside it (/vela/requests.js
// for dist/client/requests.js). Read once at bootstrap: they are small, never change while the app
// runs, and a missing build then fails bootstrap instead of the first page that asks for it.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Middleware } from 'koa';
import { ConfigError } from '../app/errors.js';

/** Where the client is served. */
export const CLIENT_SCRIPT_PATH = '/vela/client.js';

const LOCATIONS = [
  // The package as installed: dist/files/client-script.js → dist/client/index.js.
  new URL('../client/index.js', import.meta.url),
  // Vela's own sources run directly (vitest, tsx): src/files/client-script.ts → dist/client/index.js.
  new URL('../../dist/client/index.js', import.meta.url),
];

/** The built client's modules by the path they are served at; a ConfigError naming the paths looked at and the fix when missing. */
export function readClientScript(): ReadonlyMap<string, Buffer> {
  for (const location of LOCATIONS) {
    let entry: Buffer;
    try {
      entry = readFileSync(location);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      continue;
    }
    const files = new Map([[CLIENT_SCRIPT_PATH, entry]]);
    // The modules index.js imports ('./requests.js'), which a browser asks for beside /vela/client.js.
    for (const name of readdirSync(new URL('.', location))) {
      if (name.endsWith('.js') && name !== 'index.js') files.set(`/vela/${name}`, readFileSync(new URL(name, location)));
    }
    return files;
  }
  const looked = LOCATIONS.map((location) => fileURLToPath(location)).join(' or ');
  throw new ConfigError(
    `bootstrap({ client: true }) serves the browser client from ${looked}, which does not exist. ` +
      `Build it with \`npm run build\` in the Vela package, or leave \`client\` off.`,
  );
}

/**
 * Answers GET and HEAD for the client's files as ES modules. `Cache-Control: no-cache` with a
 * strong ETag each: browsers revalidate on each load and get a 304 until Vela is upgraded.
 */
export function clientScript(files: ReadonlyMap<string, Buffer>): Middleware {
  const served = new Map([...files].map(([path, source]) => [path, { source, etag: `"${createHash('sha256').update(source).digest('base64url').slice(0, 27)}"` }]));
  return async (ctx, next) => {
    const file = ctx.method === 'GET' || ctx.method === 'HEAD' ? served.get(ctx.path) : undefined;
    if (!file) return next();
    ctx.status = 200;
    ctx.type = 'text/javascript; charset=utf-8';
    ctx.etag = file.etag;
    ctx.set('Cache-Control', 'no-cache');
    if (ctx.fresh) ctx.status = 304;
    else ctx.body = file.source;
  };
}
