// `vela/testing`: helpers for testing a Vela app with any test runner (vitest, jest, node:test),
// after Phoenix's ChannelTest and Nova's nova_test.
export { startTestApp, closeTestApps, type TestApp, type TestAppOptions, type TestClient } from './test-app.js';
export type { HttpClient, RequestOptions } from './http-client.js';
export { UpgradeRefusedError, type TestSocket, type SocketOptions, type RecvOptions } from './ws-client.js';
export { memoryLogger, type MemoryLogger, type LogEntry } from './memory-logger.js';
