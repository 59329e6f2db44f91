import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Vite transforms TypeScript with oxc; Vela's dependency injection needs legacy decorators and
  // the constructor types TypeScript records (design:paramtypes), as tsc emits them.
  oxc: { decorator: { legacy: true, emitDecoratorMetadata: true } },
  test: {
    include: ['test/**/*.test.ts'],
  },
});
