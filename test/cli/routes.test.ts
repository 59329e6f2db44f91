// `vela routes`: the example blog's routes and gateways as bootstrap reads them, and a clear
// refusal for a file that is not an app. Run from the sources (`node --import tsx`), with the
// repository root as the working directory, so 'vela' is this checkout's src (tsconfig paths).
import { describe, expect, it } from 'vitest';
import { describeApp } from '../../src/cli/describe-app.js';
import { AppModule } from '../../example/blog/app.module.js';
import { root, runCli, SOURCE_CLI } from './support.js';

const BLOG = 'example/blog/app.module.ts';
const routes = (...args: string[]) => runCli(SOURCE_CLI, ['routes', ...args], root);
/** A table row: cells separated by the padding of aligned columns. */
const row = (...cells: string[]) => new RegExp(`^${cells.map((c) => c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join(' {2,}')}$`, 'm');

describe('vela routes', () => {
  it('prints, as JSON, exactly what describeApp reads from the blog', async () => {
    const { code, output } = await routes(BLOG, '--json');
    expect(code).toBe(0);
    expect(JSON.parse(output)).toEqual(describeApp(AppModule));
  });

  it('prints every route, status route, gateway and static directory of the blog as tables', async () => {
    const { code, output } = await routes(BLOG);
    expect(code).toBe(0);
    const app = describeApp(AppModule);
    for (const r of app.routes) expect(output).toMatch(row(r.methods.join(','), r.path, r.handler, r.security));
    for (const g of app.gateways) expect(output).toMatch(row(g.path, g.gateway, g.security, g.handlers.join(', ')));
    expect(output).toMatch(row('METHOD', 'PATH', 'HANDLER', 'SECURITY'));
    expect(output).toMatch(row('POST', '/posts/:id/comments', 'PostsController.comment', 'signedIn'));
    expect(output).toMatch(row('GET', '/api/users/:id', 'UsersController.show', 'public'));
    expect(output).toMatch(row('404', '/', 'ErrorsController.notFound'));
    expect(output).toMatch(row('/ws', 'EchoGateway', 'public', 'text → echo, terminate'));
    expect(output).toMatch(row('/posts/:id/live', 'CommentsGateway', 'reader', 'init, event "post" → post, info topic=new_comment → push, info topic=presence_diff → relayPresence'));
    expect(output).toMatch(row('/assets', 'example/blog/public', 'AppModule'));
    expect(output.split('\n').filter((line) => / {2,}(public|signedIn|signedInApi)$/.test(line))).toHaveLength(app.routes.length);
  });

  it('describes the module named by --module', async () => {
    const { code, output } = await routes('test/cli/fixtures/two-modules.ts', '--module', 'RootModule');
    expect(code).toBe(0);
    expect(output).toMatch(row('GET', '/admin/stats', 'AdminController.stats', 'public'));
    expect(output).toContain('WebSocket gateways: none');
  });

  it('asks which module when a file exports several', async () => {
    expect(await routes('test/cli/fixtures/two-modules.ts')).toEqual({
      code: 1,
      output:
        'vela routes: test/cli/fixtures/two-modules.ts exports several modules (AdminModule, RootModule): pick the root one with --module AdminModule.',
    });
  });

  it('refuses a file that exports no module', async () => {
    expect(await routes('test/cli/fixtures/not-a-module.ts')).toEqual({
      code: 1,
      output:
        'vela routes: test/cli/fixtures/not-a-module.ts exports no @Module class (it exports greeting, helper): ' +
        'pass the file that declares your root module, e.g. src/app.module.ts, not the one that calls bootstrap.',
    });
  });

  it('refuses an app bootstrap would refuse, with the same message', async () => {
    expect(await routes('test/cli/fixtures/duplicate-route.module.ts')).toEqual({
      code: 1,
      output:
        'vela routes: Duplicate route GET /same: declared by FirstController.first and SecondController.second. ' +
        'Remove one or change its path or methods.',
    });
  });

  it('names a file that fails to load, and shows where with --debug', async () => {
    expect(await routes('test/cli/fixtures/fails-at-import.ts')).toEqual({
      code: 1,
      output: 'vela routes: cannot load test/cli/fixtures/fails-at-import.ts: fixture fails at import',
    });
    const { code, output } = await routes('test/cli/fixtures/fails-at-import.ts', '--debug');
    expect(code).toBe(1);
    expect(output).toMatch(/^Caused by: Error: fixture fails at import\n\s+at .*fails-at-import\.ts/m);
  });

  it('refuses a missing file and a missing default entry', async () => {
    expect(await routes('nowhere.ts')).toEqual({ code: 1, output: 'vela routes: nowhere.ts does not exist.' });
    expect(await runCli(SOURCE_CLI, ['routes'], `${root}/test/cli`)).toEqual({
      code: 1,
      output:
        'vela routes: no entry given and src/app.module.ts does not exist: pass the file that exports your root @Module, e.g. vela routes src/app.module.ts.',
    });
  });
});
