// bench/autobahn-server.mjs's Vela server: the pure echo gateway Autobahn|Testsuite's fuzzingclient
// drives (../shared/AUTOBAHN.md). No heartbeat (a ping landing inside a "chopped frame" case makes
// the client corrupt its own frame), 16 MiB messages, compression on at Vela's defaults, and
// maxFragments raised for 9.3.1 / 9.4.1: a 4 MiB message in 64-byte fragments is 65 536 of them, and
// Autobahn ends it with one more, empty (its fragmenter sends the FIN frame after the last full one).
import { Module, OnMessage, WebSocket, reply } from 'vela';

export const AUTOBAHN_OPTIONS = { heartbeat: 0, maxPayload: 16 * 1024 * 1024, maxFragments: 131_072, compression: true } as const;

@WebSocket('/echo', AUTOBAHN_OPTIONS)
export class AutobahnEchoGateway {
  @OnMessage()
  text(text: string) {
    return reply(text);
  }

  @OnMessage({ binary: true })
  bytes(bytes: Buffer) {
    return reply(bytes);
  }
}

@Module({ gateways: [AutobahnEchoGateway] })
export class AutobahnModule {}
