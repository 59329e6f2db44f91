// Plain HTTP, not an upgrade: a request to a gateway's path that is not a WebSocket upgrade, and that
// no route took, is told how to reach the gateway instead of getting a bare 404.
import type { Middleware } from 'koa';
import type { GatewayDefinition } from './gateway-table.js';

/**
 * A non-upgrade request to a gateway path that no route took: 426 with `Upgrade: websocket` for GET
 * (the client forgot to upgrade), 405 for other methods.
 */
export function upgradeRequired(definitions: readonly GatewayDefinition[]): Middleware {
  return async (ctx, next) => {
    await next();
    if (ctx.status !== 404 || ctx.body != null || !definitions.some((d) => d.match(ctx.path))) return;
    if (ctx.method === 'GET' || ctx.method === 'HEAD') {
      ctx.status = 426;
      ctx.set('Upgrade', 'websocket');
    } else {
      ctx.status = 405;
      ctx.set('Allow', 'GET');
    }
  };
}
