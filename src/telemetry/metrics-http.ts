// `http.server.request.duration`, as OpenTelemetry's stable HTTP conventions define it: seconds,
// their bucket boundaries, and the attributes that keep its series few (the route template, never
// the path a client asked for; an unknown method as `_OTHER`). WebSocket upgrades count too: a
// request to a gateway's path, 101 when accepted, the refusal's status when not.
import { performance } from 'node:perf_hooks';
import type { Attributes, Histogram, Meter } from '@opentelemetry/api';

/** semconv's advice for http.server.request.duration, in seconds. */
export const HTTP_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/** The methods semconv names; any other is recorded as `_OTHER`, so a client cannot mint series. */
const KNOWN_METHODS = new Set(['CONNECT', 'DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT', 'TRACE']);

/** Distinct attribute sets are bounded (methods × routes × statuses): past this many, something is wrong; stop caching. */
const MAX_CACHED = 10_000;

export class HttpMeter {
  /** False without an SDK: the error boundary then reads no clock for it. */
  readonly enabled: boolean;
  readonly #duration: Histogram;
  /** One frozen attribute object per (method, scheme, status, route): none is built per request. */
  readonly #attributes = new Map<string, Attributes>();

  constructor(meter: Meter, enabled: boolean) {
    this.enabled = enabled;
    this.#duration = meter.createHistogram('http.server.request.duration', {
      description: 'Duration of HTTP server requests',
      unit: 's',
      advice: { explicitBucketBoundaries: HTTP_DURATION_BUCKETS },
    });
  }

  /**
   * A request that started at `started` (performance.now()) is answered. `route` is the matched
   * route's template (`/api/users/:id`), undefined when none matched (a 404).
   */
  record(method: string, scheme: string, status: number, route: string | undefined, started: number): void {
    const known = KNOWN_METHODS.has(method) ? method : '_OTHER';
    // Behind a trusted proxy the scheme is X-Forwarded-Proto, which a client may set to anything.
    const https = scheme === 'https';
    const key = `${known} ${https} ${status} ${route ?? ''}`;
    let attributes = this.#attributes.get(key);
    if (!attributes) {
      attributes = requestAttributes(known, https ? 'https' : 'http', status, route);
      if (this.#attributes.size < MAX_CACHED) this.#attributes.set(key, attributes);
    }
    this.#duration.record((performance.now() - started) / 1_000, attributes);
  }
}

function requestAttributes(method: string, scheme: string, status: number, route: string | undefined): Attributes {
  const attributes: Attributes = {
    'http.request.method': method,
    'url.scheme': scheme,
    'http.response.status_code': status,
  };
  if (route !== undefined) attributes['http.route'] = route;
  // semconv: a server's 5xx is an error, named by its status code.
  if (status >= 500) attributes['error.type'] = String(status);
  return Object.freeze(attributes);
}
