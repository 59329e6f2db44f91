// Guards the shape of src/: no import cycle between its files (type-only imports included, since a
// type cycle is still two files that cannot be understood apart), and no file grown past 400 lines.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));
const MAX_LINES = 400;

/** Every .ts file under `dir`, as absolute paths. */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

/**
 * The src/ files `file` imports or re-exports from, `import type` included. Only relative
 * specifiers lead to src/; `./x.js` is the compiled name of `./x.ts`.
 */
function importsOf(file: string, known: ReadonlySet<string>): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  const targets = new Set<string>();
  for (const { fileName } of importedFiles) {
    if (!fileName.startsWith('.')) continue;
    const base = resolve(dirname(file), fileName);
    const candidates = [base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')];
    const target = candidates.find((candidate) => known.has(candidate));
    if (target) targets.add(target);
  }
  return [...targets];
}

/** Strongly connected components of more than one file, or of one file importing itself (Tarjan). */
function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, counter);
    low.set(node, counter++);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1 || graph.get(node)?.includes(node)) found.push(component);
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return found;
}

/** One concrete cycle inside a component, as a path that ends where it starts: a → b → a. */
function cyclePath(component: readonly string[], graph: ReadonlyMap<string, readonly string[]>): string[] {
  const members = new Set(component);
  const start = [...component].sort()[0]!;
  // Breadth-first from start back to start, within the component: the shortest such cycle.
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift()!;
    for (const next of graph.get(node) ?? []) {
      if (!members.has(next)) continue;
      if (next === start) {
        const path = [start];
        for (let at: string | undefined = node; at !== undefined && at !== start; at = previous.get(at)) path.splice(1, 0, at);
        return [...path, start];
      }
      if (!previous.has(next)) {
        previous.set(next, node);
        queue.push(next);
      }
    }
  }
  return [start, start];
}

/** Lines as `wc -l` counts them, plus a last line without a newline. */
function lineCount(text: string): number {
  return text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
}

const files = sourceFiles(SRC);
const name = (file: string): string => relative(SRC, file).split('\\').join('/');

describe('src/ architecture', () => {
  it('has no import cycle, type-only imports included', () => {
    const known = new Set(files);
    const graph = new Map(files.map((file) => [file, importsOf(file, known)]));
    // A resolver that found nothing would pass vacuously: index.ts re-exports most of src/.
    expect(graph.get(join(SRC, 'index.ts'))!.length).toBeGreaterThan(20);
    const found = cycles(graph).map((component) => cyclePath(component, graph).map(name).join(' → '));
    expect(found, `import cycles in src/:\n${found.join('\n')}`).toEqual([]);
  });

  it(`has no file over ${MAX_LINES} lines`, () => {
    const oversized = files
      .map((file) => ({ file: name(file), lines: lineCount(readFileSync(file, 'utf8')) }))
      .filter(({ file, lines }) => lines > MAX_LINES)
      .map(({ file, lines }) => `${file}: ${lines} lines`);
    expect(oversized, `split these files:\n${oversized.join('\n')}`).toEqual([]);
  });

  it('matches docs/architecture.md: every file it names exists, every folder is named', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    expect(readme, 'README must keep its "## Architecture" section linking to docs/architecture.md').toMatch(
      /\n## Architecture\n[\s\S]*\(docs\/architecture\.md\)/,
    );
    const section = readFileSync(new URL('../docs/architecture.md', import.meta.url), 'utf8');
    const named = [...section.matchAll(/`([a-z-]+\/[a-z-]+\.ts)`/g)].map((match) => match[1]!);
    const missing = named.filter((file) => !files.some((known) => name(known) === file));
    expect(missing, 'docs/architecture.md names files that are not in src/').toEqual([]);
    const folders = readdirSync(SRC, { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => entry.name);
    const unnamed = folders.filter((folder) => !section.includes(`\`${folder}/`));
    expect(unnamed, 'src/ folders docs/architecture.md does not mention').toEqual([]);
  });
});
