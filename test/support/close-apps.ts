// Setup file of every test file: apps a test started with startTestApp are closed after it, so a
// test needs no close() of its own. Registered before any file's hooks, so it runs after them
// (hooks run as a stack): a file's own clean-up (raw sockets, child processes) goes first.
import { afterEach } from 'vitest';
import { closeTestApps } from 'vela/testing';

afterEach(closeTestApps);
