// bootstrap({ client: true }) serves the browser client, `vela/client`, at /vela/client.js, so a
// page can `import { connect } from '/vela/client.js'` without a bundler. The file is this
// package's dist/client/index.js, read once at bootstrap: it is small, never changes while the app
// runs, and a missing build then fails bootstrap instead of the first page that asks for it.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
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

/** The built client's source; a ConfigError naming the paths looked at and the fix when it is missing. */
export function readClientScript(): Buffer {
  for (const location of LOCATIONS) {
    try {
      return readFileSync(location);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  const looked = LOCATIONS.map((location) => fileURLToPath(location)).join(' or ');
  throw new ConfigError(
    `bootstrap({ client: true }) serves the browser client from ${looked}, which does not exist. ` +
      `Build it with \`npm run build\` in the Vela package, or leave \`client\` off.`,
  );
}

/**
 * Answers GET and HEAD /vela/client.js with the client as an ES module. `Cache-Control: no-cache`
 * with a strong ETag: browsers revalidate on each load and get a 304 until Vela is upgraded.
 */
export function clientScript(source: Buffer): Middleware {
  const etag = `"${createHash('sha256').update(source).digest('base64url').slice(0, 27)}"`;
  return async (ctx, next) => {
    if (ctx.path !== CLIENT_SCRIPT_PATH || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
    ctx.status = 200;
    ctx.type = 'text/javascript; charset=utf-8';
    ctx.etag = etag;
    ctx.set('Cache-Control', 'no-cache');
    if (ctx.fresh) ctx.status = 304;
    else ctx.body = source;
  };
}
