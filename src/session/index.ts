// Sessions: a cookie per client, data in a pluggable store (memory by default).
export type { Session } from './session.js';
export type { SessionStore, SessionData, SaveOptions } from './store.js';
export type { SessionSecret } from './signed-id.js';
export { memorySessionStore, type MemorySessionStore, type MemorySessionStoreOptions } from './memory-store.js';
export { sessionMiddleware, sessionIdOf, type SessionOptions } from './middleware.js';
