// The README's TypeScript examples must compile against the current sources: each ```ts block is
// written to its own file and type-checked with the project's compiler settings.
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = new URL('..', import.meta.url).pathname;

describe('README', () => {
  it('has TypeScript examples that compile', async () => {
    const readme = await readFile(join(root, 'README.md'), 'utf8');
    const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(blocks.length).toBeGreaterThanOrEqual(5);

    const dir = join(root, '.build', 'readme');
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    await Promise.all(blocks.map((code, i) => writeFile(join(dir, `block-${i + 1}.ts`), code)));
    await writeFile(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        extends: '../../tsconfig.json',
        include: ['*.ts'],
        // The browser client's examples import 'vela/client' and need DOM types; the server's compile with them too.
        compilerOptions: {
          noEmit: true,
          lib: ['ES2023', 'DOM'],
          paths: {
            vela: ['../../src/index.ts'],
            'vela/client': ['../../src/client/index.ts'],
            'vela/testing': ['../../src/testing/index.ts'],
          },
        },
      }),
    );
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await run(process.execPath, [tsc, '-p', dir]).then(
      () => '',
      (error: { stdout?: string }) => error.stdout ?? String(error),
    );
    expect(result).toBe('');
  }, 60_000);
});
