// `vela docs`: the API documents of the example blog and of the docs fixture, exactly as
// apiDocuments (and so bootstrap's docs option) builds them, and clear refusals. Run from the
// sources (`node --import tsx`) with the repository root as the working directory, as routes.test.ts.
import { describe, expect, it } from 'vitest';
import { apiDocuments } from '../../src/docs/documents.js';
import { AppModule, BLOG_OPTIONS } from '../../example/blog/app.module.js';
import { DocsAppModule } from '../fixtures/docs-app.js';
import { root, runCli, SOURCE_CLI } from './support.js';

const BLOG = 'example/blog/app.module.ts';
const docs = (...args: string[]) => runCli(SOURCE_CLI, ['docs', ...args], root);

describe('vela docs', () => {
  it('prints both documents of the blog as JSON, with the docs settings of its bootstrap options', async () => {
    const { code, output } = await docs(BLOG, '--options', 'BLOG_OPTIONS');
    expect(code).toBe(0);
    expect(JSON.parse(output)).toEqual(apiDocuments(AppModule, BLOG_OPTIONS.docs));
  });

  it('prints one document with --openapi or --asyncapi', async () => {
    const expected = apiDocuments(DocsAppModule);
    const openapi = await docs('test/fixtures/docs-app.ts', '--openapi');
    expect(openapi.code).toBe(0);
    expect(JSON.parse(openapi.output)).toEqual(expected.openapi);
    const asyncapi = await docs('test/fixtures/docs-app.ts', '--asyncapi');
    expect(JSON.parse(asyncapi.output)).toEqual(expected.asyncapi);
  });

  it('refuses --options naming no export, or one without docs', async () => {
    expect(await docs(BLOG, '--options', 'OPTIONS')).toEqual({
      code: 1,
      // Every export of the module is listed, whatever the blog adds next.
      output: expect.stringMatching(/^vela docs: example\/blog\/app\.module\.ts does not export OPTIONS; it exports AppModule, BLOG_OPTIONS, BLOG_VIEWS(, \w+)*\.$/),
    });
    expect(await docs(BLOG, '--options', 'BLOG_VIEWS')).toEqual({
      code: 1,
      output:
        "vela docs: BLOG_VIEWS in example/blog/app.module.ts has no docs option: --options names the bootstrap options the app starts with, e.g. { docs: '/docs' }.",
    });
  });
});
