// Turns what a controller returned into a response: a claimed tag goes to its handler; anything
// else goes to the fallback controller, whose own answer must be claimed (Nova's fallback rule).
import { describeValue } from '../describe.js';
import type { Context } from 'koa';
import type { Container } from '../di/container.js';
import type { Fallback } from './decorators.js';
import type { HandlerRegistry } from './handler-registry.js';
import { requestInfo } from './request-info.js';
import { isTagged } from './results.js';
import type { RouteSource } from './route-table.js';

export class ResultRenderer {
  readonly #handlers: HandlerRegistry;
  readonly #container: Container;

  constructor(handlers: HandlerRegistry, container: Container) {
    this.#handlers = handlers;
    this.#container = container;
  }

  async render(ctx: Context, returned: unknown, source: RouteSource): Promise<void> {
    requestInfo(ctx).renderingFor = { controller: source.controller, handlerName: source.handlerName };
    if (await this.#tryHandle(ctx, returned)) return;
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
    if (await this.#tryHandle(ctx, resolved)) return;
    throw new Error(
      `${source.fallback.name}.resolve returned ${describeValue(resolved)} for what ${where} returned (${describeValue(returned)}); ` +
        `a fallback must return a result that a handler claims, such as status(404).`,
    );
  }

  async #tryHandle(ctx: Context, value: unknown): Promise<boolean> {
    if (!isTagged(value)) return false;
    const handler = this.#handlers.get(value[0]);
    if (!handler) return false;
    await handler(ctx, ...value.slice(1));
    return true;
  }
}
