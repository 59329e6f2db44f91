import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Vite 8 transforms TypeScript with oxc; Vela's DI needs legacy decorators and design:paramtypes.
  oxc: { decorator: { legacy: true, emitDecoratorMetadata: true } },
  // The example imports 'vela' as users do; in tests that means this checkout's sources.
  resolve: { alias: [{ find: /^vela$/, replacement: fileURLToPath(new URL('./src/index.ts', import.meta.url)) }] },
  test: {
    include: ['test/**/*.test.ts'],
    // Servers bind real ports; keep a stuck test from holding CI.
    testTimeout: 15_000,
    hookTimeout: 15_000,
  },
});
