// Resolves what the blog's controllers return that no result handler claims, as Nova's
// fallback_controller does: `['error', reason]` tuples become JSON errors for API clients, and the
// blog's error page for browsers (a status without a body goes to its status route). For a gateway,
// it closes the socket.
import { wantsHtml } from './errors.controller.js';
import { Connection, Inject, Injectable, LOGGER, status, stop, type Context, type Fallback, type Logger } from 'vela';

const STATUS_BY_REASON: Record<string, number> = { not_found: 404, forbidden: 403, conflict: 409 };

@Injectable()
export class BlogFallback implements Fallback {
  constructor(@Inject(LOGGER) private readonly log: Logger) {}

  resolve(target: Context | Connection, returned: unknown) {
    // The module's fallback covers its gateways too: an unexpected return closes that socket.
    if (target instanceof Connection) {
      this.log.warn('invalid gateway return', { connection: target.id, returned });
      return stop(1011, 'unexpected reply');
    }
    const ctx = target;
    if (Array.isArray(returned) && returned[0] === 'error' && typeof returned[1] === 'string') {
      const code = STATUS_BY_REASON[returned[1]] ?? 400;
      return wantsHtml(ctx) ? status(code) : status(code, { body: { error: returned[1] } });
    }
    this.log.warn('invalid controller return', { path: ctx.path, returned });
    return status(500);
  }
}
