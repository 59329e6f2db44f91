// Compile-time proof (checked by `npm run typecheck`): a gateway's path parameters are strings, as
// an HTTP route's ctx.params are, so they go into string fields without a cast. This project sets
// noUncheckedIndexedAccess, under which any key may be absent (`string | undefined`), as with
// ctx.params; under plain `strict` a key is a `string`.
import { OnMessage, WebSocket, reply, type Connection } from '../../src/index.js';

@WebSocket('/rooms/:room')
export class RoomGateway {
  room = 'lobby';

  init(conn: Connection) {
    const room: string | undefined = conn.request.params.room;
    this.room = room ?? this.room;
    // @ts-expect-error never an array: a wildcard's segments come joined by '/'
    const segments: string[] | undefined = conn.request.params.room;
    return segments;
  }

  @OnMessage()
  say(text: string) {
    return reply(`${this.room}: ${text}`);
  }
}
