// Sessions: a cookie per client, data in a pluggable store (memory by default).
export type { Session } from './session.js';
export type { SessionStore, SessionData } from './store.js';
export { memorySessionStore, type MemorySessionStore, type MemorySessionStoreOptions } from './memory-store.js';
export { sessionMiddleware, sessionIdOf, type SessionOptions } from './middleware.js';
