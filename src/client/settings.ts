// vela/client's options: what `connect()` takes, checked once with messages that name the option,
// and the delays they make (capped exponential backoff with jitter).

export interface ReconnectOptions {
  /** Delay before the first retry, in ms. Default 500. */
  initialDelay?: number;
  /** Longest delay between retries, in ms. Default 10 000. */
  maxDelay?: number;
  /** Each failed attempt multiplies the delay by this. Default 2. */
  factor?: number;
  /** 0–1: each delay is drawn at random from `(1 - jitter)` to 1 times the backoff, so a restarted server is not hit by every page at once. Default 0.5. */
  jitter?: number;
}

export interface HeartbeatOptions {
  /** Send `vela:ping` this often while open, in ms. Default 25 000. */
  interval?: number;
  /** Close and reconnect when nothing at all arrives this long after a ping, in ms. Default 10 000. */
  timeout?: number;
}

export interface QueueOptions {
  /** Messages kept while not connected; past it the oldest is dropped (`'drop'`, `dropped`). Default 100; 0 keeps none. */
  max?: number;
}

export interface ConnectOptions {
  /** Retry a lost or refused connection. Default on; `false` makes the first close final. */
  reconnect?: ReconnectOptions | false;
  /** Detect a dead link with app-level pings. Default on; `false` for servers that are not Vela. */
  heartbeat?: HeartbeatOptions | false;
  queue?: QueueOptions;
  /** WebSocket subprotocols, as for `new WebSocket(url, protocols)`. */
  protocols?: string | string[];
}

export interface Settings {
  reconnect: Required<ReconnectOptions> | false;
  heartbeat: Required<HeartbeatOptions> | false;
  max: number;
}

/** `/path` → `ws(s)://host/path` of the page; `http(s):` becomes `ws(s):`. */
export function resolveUrl(url: string): string {
  const base = typeof location === 'undefined' ? undefined : location.href;
  let resolved: URL;
  try {
    resolved = new URL(url, base);
  } catch {
    throw new SyntaxError(`connect('${url}'): not a URL. Pass ws://host/path, wss://host/path, or a path such as '/comments' on a page.`);
  }
  if (resolved.protocol === 'http:') resolved.protocol = 'ws:';
  else if (resolved.protocol === 'https:') resolved.protocol = 'wss:';
  if (resolved.protocol !== 'ws:' && resolved.protocol !== 'wss:') {
    throw new SyntaxError(`connect('${url}'): ${resolved.protocol} is not a WebSocket URL. Use ws:, wss:, http:, https: or a path.`);
  }
  return resolved.href;
}

export function settings(options: ConnectOptions): Settings {
  const { reconnect = {}, heartbeat = {}, queue = {} } = options;
  return {
    reconnect: reconnect && {
      initialDelay: number('reconnect.initialDelay', reconnect.initialDelay, 500, 0),
      maxDelay: number('reconnect.maxDelay', reconnect.maxDelay, 10_000, 0),
      factor: number('reconnect.factor', reconnect.factor, 2, 1),
      jitter: number('reconnect.jitter', reconnect.jitter, 0.5, 0, 1),
    },
    heartbeat: heartbeat && {
      interval: number('heartbeat.interval', heartbeat.interval, 25_000, 1),
      timeout: number('heartbeat.timeout', heartbeat.timeout, 10_000, 1),
    },
    max: number('queue.max', queue.max, 100, 0),
  };
}

function number(name: string, value: number | undefined, fallback: number, min: number, max = Infinity): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    const range = max === Infinity ? `a number ≥ ${min}` : `a number from ${min} to ${max}`;
    throw new RangeError(`connect(): ${name} must be ${range}, got ${String(value)}.`);
  }
  return value;
}

/** The delay before a retry, `retries` retries after the link was last open: initialDelay × factor^retries, capped, jittered. */
export function backoff({ initialDelay, maxDelay, factor, jitter }: Required<ReconnectOptions>, retries: number): number {
  const full = Math.min(maxDelay, initialDelay * factor ** retries);
  return Math.round(full * (1 - jitter * Math.random()));
}

