// The seam between `ok`/`view` results and a template language: an engine turns a view name and
// its variables into HTML. Names are checked here, once, so no engine reads outside the views dir.
import { isAbsolute } from 'node:path';

/**
 * Renders a named template. `name` is relative to the engine's views directory, without extension
 * (`users/show`); Vela has already refused names with `..`, NUL or a leading `/`.
 * An engine that cannot find a template throws {@link ViewNotFoundError}, so the app answers with a
 * message naming what was looked for.
 *
 * @example
 * const upper: ViewEngine = { render: async (name, vars) => `<p>${name}: ${JSON.stringify(vars)}</p>` };
 * await bootstrap(AppModule, { views: { engine: upper } });
 */
export interface ViewEngine {
  render(name: string, vars: Record<string, unknown>): Promise<string>;
}

/** Thrown by an engine when the template for a view does not exist. */
export class ViewNotFoundError extends Error {
  override name = 'ViewNotFoundError';
  /** The view name asked for, e.g. `users/show`. */
  readonly view: string;
  /** What the engine looked for: for files, the absolute path. */
  readonly file: string;

  constructor(view: string, file: string, options?: { cause?: unknown }) {
    super(`View "${view}" not found: no template at ${file}.`, options);
    this.view = view;
    this.file = file;
  }
}

/**
 * Refuses view names that could leave the views directory: empty names, absolute paths, `..`
 * segments and NUL bytes. Returns the reason, or undefined for a good name.
 */
export function invalidViewName(name: unknown): string | undefined {
  if (typeof name !== 'string' || name === '') return 'a view name must be a non-empty string';
  if (name.includes('\0')) return 'a view name must not contain NUL';
  if (isAbsolute(name) || name.startsWith('/') || name.startsWith('\\')) return 'a view name must be relative to the views directory, not absolute';
  if (name.split(/[/\\]/).includes('..')) return 'a view name must not contain ".." segments';
  return undefined;
}

/** Throws a TypeError for a name `invalidViewName` refuses. */
export function checkViewName(name: string): void {
  const reason = invalidViewName(name);
  if (reason) throw new TypeError(`View name ${JSON.stringify(name)} is refused: ${reason}.`);
}
