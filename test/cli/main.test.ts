// The `vela` command line itself: usage, version, and refusals of what it does not understand.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { root, runCli, SOURCE_CLI } from './support.js';

const vela = (...args: string[]) => runCli(SOURCE_CLI, args, root);
const { version } = JSON.parse(readFileSync(`${root}/package.json`, 'utf8')) as { version: string };

describe('vela', () => {
  it('prints its usage for --help, and for a command given --help', async () => {
    for (const args of [['--help'], ['-h'], ['serve', '--help']]) {
      const { code, output } = await vela(...args);
      expect(code).toBe(0);
      expect(output).toMatch(/^Usage: vela <command> \[options\]$/m);
      for (const command of ['serve [entry]', 'start [entry]', 'routes [entry]', 'docs [entry]', 'new <dir>']) expect(output).toContain(`  ${command}`);
    }
  });

  it('prints its version', async () => {
    expect(await vela('--version')).toEqual({ code: 0, output: version });
  });

  it('prints its usage and fails without a command, or with an unknown one', async () => {
    const none = await vela();
    expect(none.code).toBe(1);
    expect(none.output).toMatch(/^Usage: vela/);
    const unknown = await vela('deploy');
    expect(unknown.code).toBe(1);
    expect(unknown.output).toMatch(/^vela: unknown command 'deploy'\.\n\nUsage: vela/);
  });

  it('refuses an unknown option, a missing option value and an extra argument, naming them', async () => {
    expect(await vela('routes', '--verbose')).toEqual({
      code: 1,
      output: "vela routes: Unknown option '--verbose'. Run vela --help for the options of routes.",
    });
    expect(await vela('serve', '--views')).toEqual({
      code: 1,
      output: "vela serve: Option '--views <value>' argument missing. Run vela --help for the options of serve.",
    });
    expect(await vela('routes', 'a.ts', 'b.ts')).toEqual({
      code: 1,
      output: "vela routes: unexpected argument 'b.ts'. Run vela --help for the usage of routes.",
    });
    expect(await vela('new')).toEqual({ code: 1, output: 'vela new: which directory? Usage: vela new <dir>' });
  });
});
