// What bootstrap's `health` option accepts, and the shape every health answer takes: kept apart from
// the endpoint so the pub/sub adapters and session stores can report their state without importing it.
import { ConfigError, describeValue } from './errors.js';

/** One dependency's state in a health answer: `up`, and whatever helps an operator (a connection's status). */
export interface HealthState {
  up: boolean;
  [detail: string]: unknown;
}

/**
 * A provider (or controller) with its own check: the health endpoint reports it under the class's
 * name, and answers 503 while it is down. Bounded by the endpoint's `timeout`; a throw counts as down.
 */
export interface HealthCheck {
  healthCheck(): HealthState | Promise<HealthState>;
}

/**
 * @example bootstrap(AppModule, { health: { path: '/health', readinessDelay: 5_000 } })
 */
export interface HealthOptions {
  /** Where the endpoint answers GET and HEAD, e.g. `'/health'`. */
  path: string;
  /**
   * How long `close()` keeps serving after the endpoint turns 503 and before it stops accepting, in ms:
   * time for the load balancer to see the 503 and stop sending new clients. Default 0.
   */
  readinessDelay?: number;
  /** How long one check may take before it counts as down, in ms. Default 1 000. */
  timeout?: number;
}

const KEYS = ['path', 'readinessDelay', 'timeout'];

/** `health` with the defaults filled in, undefined when off, or a ConfigError naming the bad entry. */
export function healthSettings(health: string | HealthOptions | undefined): Required<HealthOptions> | undefined {
  if (health === undefined) return undefined;
  const options = typeof health === 'string' ? { path: health } : health;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new ConfigError(`bootstrap health must be a path such as '/health' or { path: '/health' }, got ${describeValue(health)}.`);
  }
  for (const key of Object.keys(options)) {
    if (!KEYS.includes(key)) throw new ConfigError(`bootstrap health has no option '${key}': use ${KEYS.join(', ')}.`);
  }
  const { path, readinessDelay = 0, timeout = 1_000 } = options;
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw new ConfigError(`bootstrap health.path must be a path starting with '/', such as '/health', got ${describeValue(path)}.`);
  }
  for (const [key, value] of [['readinessDelay', readinessDelay], ['timeout', timeout]] as const) {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw new ConfigError(`bootstrap health.${key} must be a whole number of milliseconds ≥ 0, got ${describeValue(value)}.`);
    }
  }
  return { path, readinessDelay, timeout };
}
