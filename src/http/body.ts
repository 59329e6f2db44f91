// Request bodies: @koa/bodyparser reads JSON, urlencoded and text bodies into ctx.request.body,
// and Vela refuses a JSON body nested deeper than a limit. JSON.parse itself copes with any depth,
// but the app's recursive code does not: JSON.stringify, a deep merge or a validator would throw
// RangeError (a 500) on `[[[[…]]]]` a hundred thousand deep, which fits in 200 KB.
import { bodyParser } from '@koa/bodyparser';
import type { Middleware } from 'koa';
import { ConfigError } from '../app/errors.js';
import { HttpError } from './http-error.js';
import { DEFAULT_JSON_DEPTH, deeperThan } from './json-depth.js';

/**
 * @koa/bodyparser's options (`jsonLimit: '1mb'`, `formLimit`, `textLimit`, enabled types…) and
 * `jsonDepth`, the deepest nesting of arrays and objects a body may have (default 64, as .NET's
 * System.Text.Json); a deeper one is refused with 400.
 *
 * @example bootstrap(AppModule, { body: { jsonLimit: '100kb', jsonDepth: 16 } })
 */
export type BodyOptions = NonNullable<Parameters<typeof bodyParser>[0]> & { jsonDepth?: number };

/** The body parser of every route: parses, then checks the nesting depth of what it parsed. */
export function createBodyParser({ jsonDepth = DEFAULT_JSON_DEPTH, ...options }: BodyOptions = {}): Middleware {
  if (!Number.isSafeInteger(jsonDepth) || jsonDepth < 1) {
    throw new ConfigError(`bootstrap body.jsonDepth must be a whole number ≥ 1, got ${String(jsonDepth)}.`);
  }
  // onError sees parsing failures only (not the route's own, which pass through next()), so no
  // wrapper per request tells them apart; an app's own onError wins.
  const parse = bodyParser({ enableTypes: ['json', 'form', 'text'], onError: throwParseError, ...options }) as unknown as Middleware;
  return (ctx, next) =>
    parse(ctx, () => {
      // Nesting n deep takes at least 2n characters: a short body needs no walk.
      const raw: unknown = ctx.request.rawBody;
      if (typeof raw === 'string' && raw.length > 2 * jsonDepth && deeperThan(ctx.request.body, jsonDepth)) {
        throw new HttpError(400, `Request body is nested deeper than ${jsonDepth} levels.`);
      }
      return next();
    });
}

/**
 * co-body marks a body it cannot parse (a JSON SyntaxError, bourne's `__proto__` refusal) with
 * status 400 but not `expose`, so the status pages would hide why it was refused: the parser's
 * message says only what is wrong with the client's own bytes, so it is shown.
 */
function throwParseError(error: Error): never {
  const { status, expose } = error as Error & { status?: unknown; expose?: unknown };
  if (status !== 400 || expose === true) throw error;
  throw new HttpError(400, `Request body could not be parsed: ${error.message}`, { cause: error });
}
