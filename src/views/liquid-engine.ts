// The default view engine: LiquidJS, a Django/Jinja-like language (as Nova's ErlyDTL) that runs no
// arbitrary code in templates. Output is HTML-escaped unless a template ends an output with `| raw`.
// LiquidJS itself is imported at the first render, not with `vela`: every app gets this engine by
// default, and one that never renders a template would pay its load time at every start for nothing.
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Liquid } from 'liquidjs';
import { checkViewName, ViewNotFoundError, type ViewEngine } from './view-engine.js';

export interface LiquidEngineOptions {
  /** The views directory; a relative path is resolved against `process.cwd()` once, here. */
  dir: string;
  /** Template file extension, without the dot. Default `liquid`: `users/show` reads `users/show.liquid`. */
  extension?: string;
  /**
   * Keep parsed templates in memory, so a file is read once. Default: on, unless
   * `NODE_ENV=development`, where every render reads the file again and edits show at once.
   */
  cache?: boolean;
}

/**
 * A LiquidJS engine reading `<dir>/<name>.<extension>`. `{% include %}`, `{% render %}` and
 * `{% layout %}` look in the same directory and never outside it.
 *
 * @example
 * await bootstrap(AppModule, { views: { engine: liquidEngine({ dir: 'templates', extension: 'html' }) } });
 */
export function liquidEngine(options: LiquidEngineOptions): ViewEngine {
  const dir = resolve(options.dir);
  const extension = `.${(options.extension ?? 'liquid').replace(/^\./, '')}`;
  const cache = options.cache ?? process.env.NODE_ENV !== 'development';
  let loading: Promise<Liquid> | undefined;
  const liquid = (): Promise<Liquid> =>
    (loading ??= import('liquidjs').then(
      ({ Liquid }) =>
        new Liquid({
          root: dir,
          extname: extension,
          cache,
          outputEscape: 'escape',
          // A misspelt filter is an error rather than silently printing the unfiltered value.
          strictFilters: true,
        }),
    ));
  return {
    async render(name, vars) {
      checkViewName(name);
      const file = resolve(dir, name.endsWith(extension) ? name : name + extension);
      const engine = await liquid();
      try {
        // An absolute path: LiquidJS still checks (through realpath, so symlinks too) that it is inside `dir`.
        return String(await engine.renderFile(file, vars));
      } catch (error) {
        if (!(await isFile(file))) throw new ViewNotFoundError(name, file, { cause: error });
        throw error;
      }
    },
  };
}

function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (stats) => stats.isFile(),
    () => false,
  );
}
