// Ids of this node and of its connections: short and unique within a cluster. A random node id per
// app tells nodes apart (pub/sub senders cross nodes, and an adapter skips its own echoes by it); a
// counter then makes connection ids unique without drawing more randomness per connection.
import { randomBytes } from 'node:crypto';

export class ConnectionIds {
  /** Eight url-safe characters, random per app. */
  readonly nodeId = randomBytes(6).toString('base64url');
  #counter = 0;

  /** e.g. `q3XkP9aZ.1k`: the node id, then a base-36 counter. */
  next(): string {
    this.#counter += 1;
    return `${this.nodeId}.${this.#counter.toString(36)}`;
  }
}
