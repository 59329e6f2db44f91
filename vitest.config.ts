import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

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
    include: ['test/**/*.test.ts'],
    // Builds dist/client when src/client is newer: apps under test serve it at /vela/client.js.
    globalSetup: ['test/support/client-build.ts'],
    // Closes what startTestApp started after each test.
    setupFiles: ['test/support/close-apps.ts'],
    // Servers bind real ports; keep a stuck test from holding CI.
    testTimeout: 15_000,
    hookTimeout: 15_000,
  },
});
