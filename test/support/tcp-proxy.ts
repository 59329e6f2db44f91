// A small TCP proxy, as a load balancer stands in front of several nodes: clients keep one address,
// and each new connection goes to the first target that accepts it. When a target dies its
// connections are cut (both sides destroyed), so a client sees the link drop and reconnects —
// through the proxy, to a survivor.
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export class TcpProxy {
  /** Ports tried in order for each new connection. */
  targets: number[] = [];
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();

  private constructor(server: Server) {
    this.#server = server;
  }

  static async listen(): Promise<TcpProxy> {
    const proxy: TcpProxy = new TcpProxy(createServer((client) => proxy.#accept(client)));
    await new Promise<void>((resolve) => proxy.#server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /** Cuts every connection open now, as a network failure would; new ones are still accepted. */
  cut(): void {
    for (const socket of this.#sockets) socket.destroy();
  }

  /** Stops listening and cuts every connection. */
  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #track(socket: Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
  }

  #accept(client: Socket): void {
    this.#track(client);
    client.pause();
    client.on('error', () => client.destroy());
    this.#connectTo(client, [...this.targets]);
  }

  /** Connects `client` to the first of `ports` that accepts; destroys it when none does. */
  #connectTo(client: Socket, ports: number[]): void {
    const port = ports.shift();
    if (port === undefined || client.destroyed) return void client.destroy();
    const upstream = connect(port, '127.0.0.1');
    this.#track(upstream);
    let connected = false;
    upstream.once('error', () => {
      // Refused before it connected: the next target. Cut after: the client's link is gone too.
      if (!connected) return this.#connectTo(client, ports);
      client.destroy();
    });
    upstream.once('connect', () => {
      connected = true;
      upstream.on('close', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.pipe(client);
      client.pipe(upstream);
      client.resume();
    });
  }
}
