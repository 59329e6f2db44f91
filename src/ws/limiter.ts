// A connection's rate limit (a gateway's `rateLimit`), kept apart from the process that applies it
// as ws keeps its lib/limiter.js: GCRA, a token bucket held in one number.
import type { RateLimit } from './decorators.js';

/** Made per connection, only for a gateway with a rateLimit. */
export class RateLimiter {
  readonly limit: RateLimit;
  /**
   * When the connection's allowance would be back to empty, in performance.now() ms (the
   * "theoretical arrival time" of GCRA).
   */
  #emptyAt = 0;

  constructor(limit: RateLimit) {
    this.limit = limit;
  }

  /**
   * Takes one message from the allowance: `messages` at once, refilled one every per / messages ms.
   * False when the allowance is spent.
   */
  take(): boolean {
    const { messages, per } = this.limit;
    const now = performance.now();
    const next = Math.max(this.#emptyAt, now) + per / messages;
    if (next - now > per) return false;
    this.#emptyAt = next;
    return true;
  }

  /** The close reason (1008) for a connection over its limit. */
  get reason(): string {
    const { messages, per } = this.limit;
    return `rate limit exceeded: at most ${messages} messages per ${per} ms`;
  }
}
