// A logger that keeps what it is told, so tests can assert on log lines instead of printing them:
// the one vela/testing ships to users.
export { memoryLogger, type LogEntry, type MemoryLogger } from '../../src/testing/memory-logger.js';
