// The health endpoint for load balancers and orchestrators: 200 with the state of what Vela depends
// on (the pub/sub adapter, the session store) and of the providers' own checks; 503 while one is down
// or the app is closing, so a balancer stops sending new clients before the drain begins.
import type { Middleware } from 'koa';
import type { Built } from '../di/container.js';
import { tokenName } from '../di/token.js';
import type { PubSubAdapter } from '../pubsub/adapter.js';
import type { SessionStore } from '../session/store.js';
import { withinDeadline } from './deadline.js';
import type { HealthCheck, HealthOptions, HealthState } from './health-options.js';

export interface HealthSources {
  settings: Required<HealthOptions>;
  adapter: PubSubAdapter;
  store: SessionStore | undefined;
  /** The providers built from classes: those with a `healthCheck()` are asked. */
  providers: readonly Built[];
  /** True from the moment `close()` starts. */
  closing: () => boolean;
}

type Check = readonly [name: string, check: () => HealthState | Promise<HealthState>];

/** Answers GET and HEAD on `settings.path`; every other request goes on. */
export function healthEndpoint({ settings, adapter, store, providers, closing }: HealthSources): Middleware {
  // An adapter or store that cannot tell (memory) lives in this process: up while the process is.
  const checks: Check[] = [['pubsub', () => ({ ...(adapter.health?.() ?? { up: true }), adapter: adapter.name })]];
  if (store) checks.push(['sessions', () => ({ ...(store.health?.() ?? { up: true }), store: store.name })]);
  for (const { token, instance } of providers) {
    const provider = instance as Partial<HealthCheck>;
    if (typeof provider.healthCheck === 'function') checks.push([tokenName(token), () => provider.healthCheck!()]);
  }

  return async (ctx, next) => {
    if (ctx.path !== settings.path || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
    const states = await Promise.all(checks.map(([, check]) => run(check, settings.timeout)));
    const up = states.every((state) => state.up);
    const stopping = closing();
    ctx.status = stopping || !up ? 503 : 200;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { status: stopping ? 'closing' : up ? 'up' : 'down', checks: Object.fromEntries(checks.map(([name], i) => [name, states[i]])) };
  };
}

/** A check's state; one that throws, answers something else or overruns `timeout` is down, saying why. */
async function run(check: Check[1], timeout: number): Promise<HealthState> {
  try {
    const outcome = await withinDeadline(check, timeout);
    if (!outcome.done) return { up: false, error: `no answer within ${timeout} ms` };
    const state = outcome.value;
    if (typeof state !== 'object' || state === null || typeof state.up !== 'boolean') {
      return { up: false, error: 'healthCheck() must return { up: boolean, …details }' };
    }
    return state;
  } catch (error) {
    return { up: false, error: error instanceof Error ? error.message : String(error) };
  }
}
