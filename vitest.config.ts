import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';

// Files whose tests take over a second each (npm install, tsc, a browser, child processes, load and
// soak runs): project 'slow'. `npm test` runs both projects, each file isolated; `npm run
// test:quick` runs 'quick' only, two files at a time in workers that keep their modules between
// files (--no-isolate: loading the framework once per worker instead of once per file halves it).
const SLOW = [
  // Child processes: npm install, tsc, node, the CLI, Chromium, Prometheus, nginx.
  'test/build-script.test.ts',
  'test/cli/main.test.ts',
  'test/cli/docs.test.ts',
  'test/cli/new.test.ts',
  'test/cli/routes.test.ts',
  'test/cli/serve.test.ts',
  'test/cluster/workers.test.ts',
  'test/cluster/cluster-adapter.test.ts',
  'test/browser/**/*.test.ts',
  'test/deploy/**/*.test.ts',
  'test/example.test.ts',
  'test/lazy-dependencies.test.ts',
  'test/logger.test.ts',
  'test/package.test.ts',
  'test/readme.test.ts',
  'test/redis/processes.test.ts',
  'test/redis/presence-processes.test.ts',
  'test/client/node-death.test.ts',
  'test/telemetry/prometheus-server.test.ts',
  'test/telemetry/cluster-scrape.test.ts',
  'test/reliability/connect-storm.test.ts',
  'test/reliability/benchmarks.test.ts',
  // The AsyncAPI reference parser: about a second per document.
  'test/docs/asyncapi.test.ts',
  // Load, ordering over thousands of messages, many nodes, property runs.
  'test/pubsub/encoding-once.test.ts',
  'test/pubsub/hub.test.ts',
  'test/pubsub/memory-adapter.test.ts',
  'test/redis/cluster.test.ts',
  'test/redis/interest.test.ts',
  'test/redis/redis-cluster.test.ts',
  'test/redis/redis-adapter.test.ts',
  'test/reliability/data-safety.test.ts',
  'test/reliability/properties.test.ts',
  'test/reliability/session-flood.test.ts',
  'test/reliability/shutdown.test.ts',
  'test/ws/depth-and-backpressure.test.ts',
  'test/ws/load.test.ts',
];

export default defineConfig({
  // Vite 8 transforms TypeScript with oxc; Vela's DI needs legacy decorators and design:paramtypes.
  oxc: { decorator: { legacy: true, emitDecoratorMetadata: true } },
  // The example and tests import 'vela' and 'vela/testing' as users do: here, this checkout's sources.
  resolve: {
    alias: [
      { find: /^vela$/, replacement: fileURLToPath(new URL('./src/index.ts', import.meta.url)) },
      { find: /^vela\/testing$/, replacement: fileURLToPath(new URL('./src/testing/index.ts', import.meta.url)) },
    ],
  },
  test: {
    // Builds dist/client when src/client is newer: apps under test serve it at /vela/client.js.
    globalSetup: ['test/support/client-build.ts'],
    // Closes what startTestApp started after each test.
    setupFiles: ['test/support/close-apps.ts'],
    // Servers bind real ports; keep a stuck test from holding CI.
    testTimeout: 15_000,
    hookTimeout: 15_000,
    projects: [
      { extends: true, test: { name: 'quick', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, ...SLOW] } },
      { extends: true, test: { name: 'slow', include: SLOW } },
    ],
  },
});
