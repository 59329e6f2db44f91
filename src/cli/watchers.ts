// What `vela serve` listens to: the project's `tsc --watch` (one report per compile) and directory
// trees (views, or the sources of a plain .js app), each change burst reported once.
import { spawn, type ChildProcess } from 'node:child_process';
import { watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface CompileReport {
  errors: number;
  /** tsc's diagnostics for this compile, as it printed them. */
  output: string[];
}

export interface CompilerWatch {
  close(): void;
}

const ANSI = /\x1b\[[0-9;]*m/g;
const FINISHED = /Found (\d+) errors?\b.*Watching for file changes/;
const STARTED = /Starting compilation in watch mode|File change detected\. Starting incremental compilation/;

/**
 * Runs `tsc --watch` on the project and calls `onCompile` after every compile. `--noEmitOnError`
 * keeps the last good build on disk while the sources do not compile, so a restart for another
 * reason (a view) never runs half-compiled code.
 */
export function watchCompiler(options: {
  tsc: string;
  tsconfig: string;
  cwd: string;
  onCompile(report: CompileReport): void;
  onExit(code: number | null, output: string[]): void;
}): CompilerWatch {
  const args = [options.tsc, '--watch', '--preserveWatchOutput', '--noEmitOnError', '-p', options.tsconfig];
  if (process.stdout.isTTY) args.push('--pretty');
  const child: ChildProcess = spawn(process.execPath, args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let output: string[] = [];
  let closing = false;
  const onLine = (line: string) => {
    const plain = line.replace(ANSI, '');
    if (STARTED.test(plain)) {
      output = [];
      return;
    }
    const finished = FINISHED.exec(plain);
    if (finished) {
      options.onCompile({ errors: Number(finished[1]), output: trimBlank(output) });
      output = [];
      return;
    }
    output.push(line);
  };
  createInterface({ input: child.stdout! }).on('line', onLine);
  createInterface({ input: child.stderr! }).on('line', onLine);
  child.once('exit', (code) => {
    if (!closing) options.onExit(code, trimBlank(output));
  });
  return {
    close() {
      closing = true;
      child.kill('SIGTERM');
    },
  };
}

function trimBlank(lines: string[]): string[] {
  let start = 0;
  let end = lines.length;
  while (start < end && lines[start]!.trim() === '') start++;
  while (end > start && lines[end - 1]!.trim() === '') end--;
  return lines.slice(start, end);
}

/**
 * Watches a directory tree and calls `onChange` once per burst of changes (editors write a file
 * in several steps), with the paths that changed (`dir` joined with each).
 */
export function watchTree(dir: string, onChange: (files: string[]) => void, options: { ignore?: RegExp; settle?: number } = {}): FSWatcher {
  const ignore = options.ignore ?? /(^|[/\\])(node_modules|\.git)([/\\]|$)/;
  let changed = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  const watcher = watch(dir, { recursive: true }, (_event, filename) => {
    const file = filename ? String(filename) : '';
    if (file && ignore.test(file)) return;
    changed.add(file ? join(dir, file) : dir);
    clearTimeout(timer);
    timer = setTimeout(() => {
      const files = [...changed];
      changed = new Set();
      onChange(files);
    }, options.settle ?? 100);
  });
  watcher.on('close', () => clearTimeout(timer));
  return watcher;
}
