// A mistake in how `vela` was called or in the project it was pointed at. main.ts prints its
// message alone, as `vela <command>: <message>`; any other error is a bug and shows its stack
// with --debug.
import { isAbsolute, relative } from 'node:path';

export class CliError extends Error {
  override name = 'CliError';
}

/** A path as the user would type it: relative to the working directory when inside it. */
export function displayPath(file: string, cwd: string = process.cwd()): string {
  const inside = relative(cwd, file);
  return inside === '' ? '.' : inside.startsWith('..') || isAbsolute(inside) ? file : inside;
}
