// What vela/client says of itself in the upgrade URL (`vela_client`, `vela_pos`): read before the
// 101, refused with a 400 that says what to send when malformed, and never shown to the app in
// `conn.request.query`.
import { describe, expect, it } from 'vitest';
import { Module, WebSocket, json, reply, type Connection } from 'vela';
import { startTestApp } from 'vela/testing';

@WebSocket('/live')
class QueryGateway {
  init(conn: Connection) {
    return reply(json({ query: conn.request.query }));
  }
}

@Module({ gateways: [QueryGateway] })
class QueryModule {}

const positions = (value: unknown) => `vela_pos=${encodeURIComponent(JSON.stringify(value))}`;

describe('vela_client and vela_pos on the upgrade', () => {
  it("are taken out of conn.request.query, which keeps the app's own parameters", async () => {
    const app = await startTestApp(QueryModule);
    const socket = await app.ws(`/live?room=7&vela_client=0123456789abcdef&${positions({ comments: 'e:1' })}`);

    expect(await socket.recvJson()).toEqual({ query: { room: '7' } });
  });

  it.each([
    ['a client id too short', 'vela_client=abc', 'vela_client must be one id of 8 to 64 characters A-Z a-z 0-9 _ - (vela/client sends a random UUID).'],
    ['a client id with other characters', 'vela_client=0123456789%2Fabcdef', 'vela_client must be one id of 8 to 64 characters'],
    ['two client ids', 'vela_client=0123456789ab&vela_client=0123456789cd', 'vela_client must be one id'],
    ['positions that are not JSON', 'vela_pos=%7Bnope', 'vela_pos is not JSON: it is a JSON object of channel → position, as vela/client sends it.'],
    ['positions that are a list', positions(['e:1']), 'vela_pos is not an object'],
    ['positions given twice', `${positions({ a: 'e:1' })}&${positions({ b: 'e:2' })}`, 'vela_pos is given more than once'],
    ['a position that is not a string', positions({ comments: 7 }), "has a position that is not a string of 1 to 100 characters (channel 'comments')"],
    ['a position too long', positions({ comments: 'e:'.padEnd(101, '9') }), "has a position that is not a string of 1 to 100 characters (channel 'comments')"],
    ['more than 100 channels', positions(Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`c${i}`, 'e:1']))), 'vela_pos names more than 100 channels'],
  ])('refuses %s with 400 saying what to send', async (_what, query, message) => {
    const app = await startTestApp(QueryModule);
    const res = await app.wsRefusal(`/live?${query}`, { headers: { accept: 'application/json' } });

    expect(res.status).toBe(400);
    expect((JSON.parse(res.body) as { error: string }).error).toContain(message);
  });
});
