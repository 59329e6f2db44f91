// Shared by the HTTP reliability tests: requests whose bytes are sent and read exactly as written
// (fetch would normalise the path and hide the raw header block), and a count of the server's
// open sockets that is awaited through their 'close' events rather than polled.
import { request, type Agent, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface RawExchange {
  /** `HTTP/1.1 302 Found` */
  statusLine: string;
  /** Every header line as sent, in order: [lower-case name, value]. */
  headers: [string, string][];
  body: string;
}

/**
 * Writes `text` on a fresh TCP connection and reads everything the server sends until the
 * connection closes. With `end: false` the client never closes its side: only the server can.
 */
export function rawExchange(url: string, text: string, { end = true }: { end?: boolean } = {}): Promise<RawExchange> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(Number(port), hostname, () => (end ? socket.end(text) : socket.write(text)));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const raw = Buffer.concat(chunks).toString('latin1');
      const split = raw.indexOf('\r\n\r\n');
      const [statusLine = '', ...lines] = raw.slice(0, split).split('\r\n');
      const headers = lines.map((line): [string, string] => {
        const colon = line.indexOf(':');
        return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()];
      });
      resolve({ statusLine, headers, body: raw.slice(split + 4) });
    });
  });
}

export interface TimedResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** From the request until the response ended, in ms. */
  ms: number;
}

/**
 * A request whose path goes on the wire byte for byte; resolves once the whole response has
 * arrived. Without `agent`, a connection of its own that closes after the response (Node 20's
 * global agent would keep it open, idle, until the server's keep-alive timeout).
 */
export function timedRequest(
  url: string,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string; agent?: Agent } = {},
): Promise<TimedResponse> {
  const { hostname, port } = new URL(url);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method: options.method ?? 'GET', headers: options.headers, agent: options.agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - started }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/**
 * Follows every socket `server` accepts from now on. `closed()` resolves once each has emitted
 * 'close': nothing left open, whatever the client did.
 */
export function trackSockets(server: Server): { readonly accepted: number; closed(): Promise<void> } {
  const closes: Promise<void>[] = [];
  server.on('connection', (socket: Socket) => {
    closes.push(new Promise((resolve) => socket.once('close', () => resolve())));
  });
  return {
    get accepted() {
      return closes.length;
    },
    closed: async () => {
      await Promise.all(closes);
    },
  };
}

/** `server.getConnections` as a promise. */
export function connectionCount(server: Server): Promise<number> {
  return new Promise((resolve, reject) => server.getConnections((error, count) => (error ? reject(error) : resolve(count))));
}
