// Provider hooks: an app's own resources (a database pool, a queue client, a timer) start before the
// port opens and stop after the drain, in dependency order, so no request meets a pool not yet open
// and no `terminate` meets one already closed.
import type { Built } from '../di/container.js';
import { tokenName } from '../di/token.js';
import { withinDeadline } from './deadline.js';
import type { Logger } from '../logging/logger.js';

/** A provider or controller that starts something before the port opens: `bootstrap` awaits it, dependencies first. */
export interface OnInit {
  onInit(): void | Promise<void>;
}

/** A provider or controller that stops something after `close()` has drained sockets and HTTP, dependents first. */
export interface OnClose {
  onClose(): void | Promise<void>;
}

/** Raised by bootstrap when a provider's `onInit` fails; `cause` is what it threw. */
export class StartupError extends Error {
  override name = 'StartupError';
}

type Hooks = Partial<OnInit & OnClose>;

export class Lifecycle {
  readonly #providers: readonly Built[];
  readonly #logger: Logger;
  readonly #timeout: number;
  /** Providers whose `onInit` resolved (or that have none): the ones `close()` stops. */
  #started = 0;

  constructor(providers: readonly Built[], logger: Logger, timeoutMs: number) {
    this.#providers = providers;
    this.#logger = logger;
    this.#timeout = timeoutMs;
  }

  /**
   * Runs every `onInit` in order. A failure closes the providers that had started, in reverse,
   * and rejects with the provider's name, where it was registered, and the cause.
   */
  async init(): Promise<void> {
    for (const provider of this.#providers) {
      const hooks = provider.instance as Hooks;
      if (typeof hooks.onInit === 'function') {
        try {
          await hooks.onInit();
        } catch (error) {
          await this.close();
          const name = tokenName(provider.token);
          throw new StartupError(
            `${name}.onInit() failed (${name} in ${provider.origin}): ${error instanceof Error ? error.message : String(error)}. ` +
              `The app did not start; the providers started before it were closed. Fix the cause, or catch it in onInit if the app can run without it.`,
            { cause: error },
          );
        }
      }
      this.#started++;
    }
  }

  /**
   * Runs every started provider's `onClose`, dependents first. Each may take up to the shutdown
   * timeout; one that overruns or fails is logged and the next one runs, so one stuck pool does not
   * keep the others open.
   */
  async close(): Promise<void> {
    while (this.#started > 0) {
      const provider = this.#providers[--this.#started]!;
      const hooks = provider.instance as Hooks;
      if (typeof hooks.onClose !== 'function') continue;
      await this.#bounded(tokenName(provider.token), hooks.onClose.bind(hooks));
    }
  }

  async #bounded(name: string, onClose: () => void | Promise<void>): Promise<void> {
    try {
      const outcome = await withinDeadline(onClose, this.#timeout);
      if (!outcome.done) {
        this.#logger.warn(`${name}.onClose() did not finish within shutdownTimeout: moved on without it`, {
          provider: name,
          shutdownTimeout: this.#timeout,
        });
      }
    } catch (error) {
      this.#logger.error(`${name}.onClose() failed`, { provider: name, error });
    }
  }
}
