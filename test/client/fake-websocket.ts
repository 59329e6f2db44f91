// Stands in for the browser's WebSocket in vela/client's logic tests: it records what the client
// does, and the test plays the server (accept, push a frame, drop the link) on fake timers.
export class FakeWebSocket {
  static instances: FakeWebSocket[] = [];
  readyState = 0;
  binaryType = 'blob';
  readonly sent: unknown[] = [];
  closedWith?: { code?: number; reason?: string };
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string; wasClean: boolean }) => void) | null = null;

  constructor(
    readonly url: string,
    readonly protocols?: string | string[],
  ) {
    FakeWebSocket.instances.push(this);
  }

  send(data: unknown): void {
    if (this.readyState !== 1) throw new Error(`send on a socket in state ${this.readyState}`);
    this.sent.push(data);
  }

  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason };
    this.readyState = 2;
  }

  accept(): void {
    this.readyState = 1;
    this.onopen?.();
  }

  push(data: unknown): void {
    this.onmessage?.({ data });
  }

  drop(code = 1006, reason = '', wasClean = false): void {
    this.readyState = 3;
    this.onclose?.({ code, reason, wasClean });
  }
}

