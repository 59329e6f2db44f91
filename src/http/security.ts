// Nova's security functions: run before a route or a WebSocket upgrade and decide whether the
// request goes on.
import type { Context, Middleware } from 'koa';
import type { ResultRenderer, RouteSource } from './renderer.js';
import { type Result, isTagged } from './results.js';

export type SecurityOutcome = boolean | Result | object;

/**
 * `false` (the default) makes a route public; a function decides per request:
 * `true` continues, `false` answers 401, a Result (`redirect('/login')`) is sent as it is,
 * and any other object continues and becomes `ctx.state.auth`.
 */
export type Security = false | ((ctx: Context) => SecurityOutcome | Promise<SecurityOutcome>);

export type SecurityDecision =
  | { kind: 'allow'; auth?: object }
  | { kind: 'deny' }
  | { kind: 'respond'; result: Result };

export async function runSecurity(security: Security, ctx: Context): Promise<SecurityDecision> {
  if (security === false) return { kind: 'allow' };
  const outcome: unknown = await security(ctx);
  if (outcome === true) return { kind: 'allow' };
  if (outcome === false) return { kind: 'deny' };
  if (isTagged(outcome)) return { kind: 'respond', result: outcome };
  if (typeof outcome === 'object' && outcome !== null) return { kind: 'allow', auth: outcome };
  // Fail closed: a security function that forgot to return must not open the route.
  throw new TypeError(
    `Security function ${security.name || '(anonymous)'} returned ${String(outcome)}; ` +
      `return true, false, a Result such as redirect('/login'), or an object to use as ctx.state.auth.`,
  );
}

/**
 * Security as Koa middleware, for a route or a WebSocket upgrade: `false` answers 401, a Result is
 * rendered (through `source`'s fallback if need be), an auth object goes to `ctx.state.auth`.
 */
export function securityMiddleware(security: Security, renderer: ResultRenderer, source: RouteSource): Middleware {
  if (security === false) return (_ctx, next) => next();
  return async (ctx, next) => {
    const decision = await runSecurity(security, ctx);
    if (decision.kind === 'deny') {
      ctx.status = 401;
    } else if (decision.kind === 'respond') {
      await renderer.render(ctx, decision.result, source);
    } else {
      if (decision.auth) ctx.state.auth = decision.auth;
      await next();
    }
  };
}
