// The TypeScript examples of README.md and of every guide in docs/ must compile against the current
// sources: each ```ts block is written to its own file, named after its guide, and the lot is
// type-checked once with the project's compiler settings; each guide then has its own test, so a
// failure names the guide and its block.
import { execFile } from 'node:child_process';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = new URL('..', import.meta.url).pathname;
const dir = join(root, '.build', 'readme');

const guides = ['README.md', ...(await readdir(join(root, 'docs'))).filter((file) => file.endsWith('.md')).sort().map((file) => `docs/${file}`)];
const blocksOf = async (guide: string) =>
  [...(await readFile(join(root, guide), 'utf8')).matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
/** `docs/gateways.md` block 3 → `docs-gateways-3.ts`: the name tsc reports an error under. */
const prefixOf = (guide: string) => `${guide.replace(/\.md$/, '').replace(/\//g, '-')}-`;
const fileOf = (guide: string, index: number) => `${prefixOf(guide)}${index + 1}.ts`;

/** tsc's error lines, by the guide whose block they are in. */
const errors = new Map<string, string[]>();

beforeAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  for (const guide of guides) {
    const blocks = await blocksOf(guide);
    await Promise.all(blocks.map((code, i) => writeFile(join(dir, fileOf(guide, i)), code)));
  }
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
  const output = await run(process.execPath, [tsc, '-p', dir, '--pretty', 'false']).then(
    () => '',
    (error: { stdout?: string }) => error.stdout ?? String(error),
  );
  let guide = 'elsewhere';
  for (const line of output.split('\n').filter(Boolean)) {
    // An error's first line names its file; the lines indented under it go with it.
    if (!line.startsWith(' ')) guide = guides.find((name) => line.includes(`readme/${prefixOf(name)}`)) ?? 'elsewhere';
    errors.set(guide, [...(errors.get(guide) ?? []), line]);
  }
}, 120_000);

describe('TypeScript examples compile', () => {
  it('has examples in README and in the guides', async () => {
    const counts = await Promise.all(guides.map(blocksOf));
    expect(counts.flat().length).toBeGreaterThanOrEqual(40);
    expect(errors.get('elsewhere') ?? [], 'errors outside any example block').toEqual([]);
  });

  it.each(guides)('%s', (guide) => {
    expect(errors.get(guide) ?? [], `${guide}: its ts blocks are .build/readme/${prefixOf(guide)}N.ts`).toEqual([]);
  });
});

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
const anchorOf = (heading: string) => heading.trim().toLowerCase().replace(/[^\p{L}\p{N}_\- ]/gu, '').replace(/ /g, '-');
const headingsOf = (text: string) => [...text.replace(/```[\s\S]*?```/g, '').matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchorOf(m[1]!));

describe('links between README and the guides', () => {
  it.each(guides)('%s links to files and headings that exist', async (guide) => {
    const text = await readFile(join(root, guide), 'utf8');
    const targets = [...text.replace(/```[\s\S]*?```/g, '').matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((target) => !/^[a-z]+:/.test(target));
    const broken: string[] = [];
    for (const target of targets) {
      const [path, anchor] = target.split('#') as [string, string | undefined];
      const file = path ? join(root, dirname(guide), path) : join(root, guide);
      if (!existsSync(file)) broken.push(`${target}: no such file`);
      else if (anchor && file.endsWith('.md') && !headingsOf(await readFile(file, 'utf8')).includes(anchor)) broken.push(`${target}: no heading with that anchor`);
    }
    expect(broken).toEqual([]);
  });
});
