// Turns what a controller returned into a response: a claimed tag goes to its handler; anything
// else goes to the fallback controller, whose own answer must be claimed (Nova's fallback rule).
import { describeValue } from '../app/errors.js';
import type { Context } from 'koa';
import type { Container } from '../di/container.js';
import type { Class } from '../di/token.js';
import type { Fallback } from './fallback.js';
import type { HandlerRegistry } from './handler-registry.js';
import { requestInfo } from './request-info.js';
import { isTagged } from './results.js';
import { isThenable } from './thenable.js';

/**
 * Where a handler lives and what resolves its unclaimed returns: a route's controller method, or
 * for an upgrade's security Result, the gateway. Route tables extend it; the renderer reads it.
 */
export interface RouteSource {
  controller: Class;
  handlerName: string;
  fallback?: Class;
}

export class ResultRenderer {
  readonly #handlers: HandlerRegistry;
  readonly #container: Container;

  constructor(handlers: HandlerRegistry, container: Container) {
    this.#handlers = handlers;
    this.#container = container;
  }

  /**
   * Answers `returned` through its tag's handler, or else through the fallback controller. Returns
   * the handler's promise when it has one, and nothing when it finished synchronously.
   */
  render(ctx: Context, returned: unknown, source: RouteSource): void | Promise<void> {
    // The source itself, not a copy: nothing allocated per request for it.
    requestInfo(ctx).renderingFor = source;
    const handled = this.#tryHandle(ctx, returned);
    if (handled !== NOT_CLAIMED) return handled;
    return this.#renderFallback(ctx, returned, source);
  }

  async #renderFallback(ctx: Context, returned: unknown, source: RouteSource): Promise<void> {
    const where = `${source.controller.name}.${source.handlerName}`;
    if (!source.fallback) {
      throw new Error(
        `${where} returned ${describeValue(returned)}, which no result handler claims. ` +
          `Return a result (${this.#handlers.tags().join(', ')}), register a handler for its tag, ` +
          `or add a @FallbackController to ${source.controller.name} or its module.`,
      );
    }
    const fallback = this.#container.get<Fallback>(source.fallback);
    const resolved: unknown = await fallback.resolve(ctx, returned);
    const handled = this.#tryHandle(ctx, resolved);
    if (handled !== NOT_CLAIMED) return handled;
    throw new Error(
      `${source.fallback.name}.resolve returned ${describeValue(resolved)} for what ${where} returned (${describeValue(returned)}); ` +
        `a fallback must return a result that a handler claims, such as status(404).`,
    );
  }

  /** Runs the handler that claims `value`'s tag, passing on its promise if it made one. */
  #tryHandle(ctx: Context, value: unknown): typeof NOT_CLAIMED | void | Promise<void> {
    if (!isTagged(value)) return NOT_CLAIMED;
    const handler = this.#handlers.get(value[0]);
    if (!handler) return NOT_CLAIMED;
    const done = handler(ctx, ...value.slice(1));
    return isThenable(done) ? (done as Promise<void>) : undefined;
  }
}

const NOT_CLAIMED = Symbol('not claimed');
