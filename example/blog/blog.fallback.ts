// Resolves what the blog's controllers return that no result handler claims, as Nova's
// fallback_controller does: `['error', reason]` tuples become JSON errors.
import { Injectable, LOGGER, Inject, status, type Context, type Fallback, type Logger } from 'vela';

const STATUS_BY_REASON: Record<string, number> = { not_found: 404, forbidden: 403, conflict: 409 };

@Injectable()
export class BlogFallback implements Fallback {
  constructor(@Inject(LOGGER) private readonly log: Logger) {}

  resolve(ctx: Context, returned: unknown) {
    if (Array.isArray(returned) && returned[0] === 'error' && typeof returned[1] === 'string') {
      return status(STATUS_BY_REASON[returned[1]] ?? 400, { body: { error: returned[1] } });
    }
    this.log.warn('invalid controller return', { path: ctx.path, returned });
    return status(500, { body: { error: 'internal server error' } });
  }
}
