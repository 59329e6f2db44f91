// Nova's handler registry: maps a result tag (`json`, `redirect`, or the app's own `xml`) to the
// function that turns the result into a response. One registry per app, never a global.
import type { Context } from 'koa';
import { ConfigError } from '../app/errors.js';
import { jsonHandler, redirectHandler, statusHandler } from './builtin-handlers.js';
import { sendfileHandler } from '../files/sendfile-handler.js';

/**
 * Renders one result: sets `ctx.status`, headers and `ctx.body`, and lets Koa write the response.
 * Receives the tuple's elements after the tag.
 *
 * @example
 * const xml: ResultHandler = (ctx, body: string) => { ctx.type = 'application/xml'; ctx.body = body; };
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ResultHandler = (ctx: Context, ...payload: any[]) => unknown;

const TAG = /^[A-Za-z_][\w-]*$/;

export class HandlerRegistry {
  readonly #handlers = new Map<string, { handler: ResultHandler; origin: string }>();

  /** A registry holding the built-in tags. */
  static withBuiltins(): HandlerRegistry {
    const registry = new HandlerRegistry();
    const origin = 'Vela (built-in)';
    registry.register('json', jsonHandler, origin);
    registry.register('status', statusHandler, origin);
    registry.register('redirect', redirectHandler, origin);
    registry.register('sendfile', sendfileHandler, origin);
    return registry;
  }

  /** Adds a tag. A tag is registered once: a second registration is an error, not an override. */
  register(tag: string, handler: ResultHandler, origin = 'app.handlers.register'): void {
    if (typeof tag !== 'string' || !TAG.test(tag)) {
      throw new ConfigError(`${origin}: result tag ${JSON.stringify(tag)} is not a valid tag; use a name like 'xml' or 'csv'.`);
    }
    if (typeof handler !== 'function') {
      throw new ConfigError(`${origin}: the handler for result tag '${tag}' must be a function (ctx, ...payload) => void, got ${typeof handler}.`);
    }
    const existing = this.#handlers.get(tag);
    if (existing) {
      throw new ConfigError(
        `${origin}: result tag '${tag}' is already registered by ${existing.origin}. Pick another tag; handlers are never replaced.`,
      );
    }
    this.#handlers.set(tag, { handler, origin });
  }

  get(tag: string): ResultHandler | undefined {
    return this.#handlers.get(tag)?.handler;
  }

  has(tag: string): boolean {
    return this.#handlers.has(tag);
  }

  tags(): string[] {
    return [...this.#handlers.keys()];
  }
}
