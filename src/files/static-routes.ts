// Nova's static routes: `@Module({ static: [{ prefix: '/assets', dir: 'public' }] })` serves a
// directory under a URL prefix. Checked once at bootstrap; at request time a GET or HEAD under the
// prefix is answered from the directory, and anything it does not find falls through to the routes.
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Middleware } from 'koa';
import type { Class } from '../di/token.js';
import { ConfigError } from '../app/errors.js';
import { HttpError } from '../http/http-error.js';
import { sendFromRoot } from './send-from-root.js';

/**
 * One directory served under a URL prefix, with Range, ETag/Last-Modified (304) and HEAD.
 *
 * @example
 * @Module({ static: [{ prefix: '/assets', dir: 'public', maxAge: '1d' }] })
 */
export interface StaticRoute {
  /** URL prefix, starting with `/`: `/assets` serves `/assets/app.css`. `/` serves the whole site. */
  prefix: string;
  /** The directory, relative to `process.cwd()` (resolved once, at bootstrap). It must exist. */
  dir: string;
  /** Served for a URL ending in `/`. Default `index.html`; `false` turns it off (403 for a directory). */
  index?: string | string[] | false;
  /** `Cache-Control: public, max-age=…`: milliseconds, or a string such as `'1d'`. Default 0. */
  maxAge?: number | string;
  /** Adds `immutable` to `Cache-Control`, for fingerprinted file names. Default false. */
  immutable?: boolean;
}

/** A static route after bootstrap: prefix without trailing `/`, absolute directory. */
export interface StaticMount {
  prefix: string;
  root: string;
  route: StaticRoute;
  /** Where it was declared, e.g. `AppModule.static[0]`. */
  origin: string;
}

/** Validates every module's static routes; the message names the module, the entry and the fix. */
export function buildStaticMounts(modules: readonly { module: Class; static: readonly StaticRoute[] }[]): StaticMount[] {
  const mounts: StaticMount[] = [];
  for (const { module, static: routes } of modules) {
    if (!Array.isArray(routes)) {
      throw new ConfigError(`${module.name}.static must be an array of { prefix, dir }, got ${typeof routes}.`);
    }
    routes.forEach((route: StaticRoute, i) => {
      const origin = `${module.name}.static[${i}]`;
      const mount = checkRoute(route, origin);
      const taken = mounts.find((m) => m.prefix === mount.prefix);
      if (taken) {
        throw new ConfigError(
          `${origin}: prefix '${route.prefix}' is already served by ${taken.origin} (dir '${taken.route.dir}'). ` +
            `Give each static route its own prefix, or put the files in one directory.`,
        );
      }
      mounts.push(mount);
    });
  }
  return mounts;
}

function checkRoute(route: StaticRoute, origin: string): StaticMount {
  if (typeof route !== 'object' || route === null) {
    throw new ConfigError(`${origin} must be an object { prefix: '/assets', dir: 'public' }, got ${String(route)}.`);
  }
  const { prefix, dir, index, maxAge } = route;
  if (typeof prefix !== 'string' || !prefix.startsWith('/')) {
    throw new ConfigError(`${origin}: prefix ${JSON.stringify(prefix)} must be a URL path starting with '/', such as '/assets'.`);
  }
  if (typeof dir !== 'string' || dir === '') {
    throw new ConfigError(`${origin}: dir must be the path of a directory, such as 'public', got ${JSON.stringify(dir)}.`);
  }
  const root = resolve(dir);
  const stat = statSync(root, { throwIfNoEntry: false });
  if (!stat) {
    throw new ConfigError(`${origin}: dir '${dir}' does not exist (looked for ${root}). Create it, or fix the path: it is relative to ${process.cwd()}.`);
  }
  if (!stat.isDirectory()) {
    throw new ConfigError(`${origin}: dir '${dir}' (${root}) is not a directory. A static route serves a directory; to send one file, return sendfile() from a route.`);
  }
  if (index !== undefined && index !== false && typeof index !== 'string' && !(Array.isArray(index) && index.every((i) => typeof i === 'string'))) {
    throw new ConfigError(`${origin}: index must be a file name such as 'index.html', a list of them, or false.`);
  }
  if (maxAge !== undefined && typeof maxAge !== 'string' && !(typeof maxAge === 'number' && Number.isFinite(maxAge) && maxAge >= 0)) {
    throw new ConfigError(`${origin}: maxAge must be milliseconds (a number ≥ 0) or a string such as '1d', got ${String(maxAge)}.`);
  }
  return { prefix: prefix.replace(/\/+$/, ''), root, route, origin };
}

/**
 * Serves GET and HEAD under each mount, longest prefix first. A 404 (missing, dotfile, outside
 * the root) falls through to the next mount and then to the routes, so a controller may share a
 * prefix; other refusals (403 `..`, 400, 416) are thrown to the status pages.
 */
export function staticFiles(mounts: readonly StaticMount[]): Middleware {
  const ordered = [...mounts].sort((a, b) => b.prefix.length - a.prefix.length);
  return async (ctx, next) => {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return next();
    for (const mount of ordered) {
      // ctx.path is still URL-encoded: send decodes it once, then checks for `..` and NUL bytes.
      const rest = ctx.path === mount.prefix ? '' : ctx.path.startsWith(`${mount.prefix}/`) ? ctx.path.slice(mount.prefix.length) : undefined;
      if (rest === undefined) continue;
      const answer = await sendFromRoot(ctx, rest, {
        root: mount.root,
        index: mount.route.index ?? 'index.html',
        maxAge: mount.route.maxAge ?? 0,
        immutable: mount.route.immutable ?? false,
      }).catch((error: unknown) => {
        if (error instanceof HttpError && error.status === 404) return undefined;
        throw error;
      });
      if (!answer) continue;
      if (answer.type === 'directory') {
        // As send would, but to the full URL: `/assets/docs` → `/assets/docs/`, query kept.
        ctx.redirect(`/${ctx.path.replace(/^\/+/, '')}/${ctx.search}`);
        ctx.status = 301;
        return;
      }
      ctx.status = answer.statusCode;
      ctx.set(answer.headers);
      if (answer.statusCode !== 304) ctx.body = answer.stream;
      return;
    }
    return next();
  };
}
