// bootstrap({ docs }) serves both API documents as JSON, built once at bootstrap, and refuses a
// docs option it cannot serve with a message naming it and the fix.
import { afterEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from 'vela/testing';
import { ConfigError, Controller, Module, Route, bootstrap, json } from '../../src/index.js';
import { apiDocuments } from '../../src/docs/documents.js';
import { AppModule as BlogModule, BLOG_OPTIONS } from '../../example/blog/app.module.js';
import { DocsAppModule } from '../fixtures/docs-app.js';
import { validateOpenApi, type Doc } from './spec-support.js';

let app: TestApp | undefined;
afterEach(() => app?.close());

describe('bootstrap({ docs })', () => {
  it('serves /docs/openapi.json and /docs/asyncapi.json as JSON: the documents of the app', async () => {
    app = await startTestApp(DocsAppModule, { docs: '/docs' });
    const expected = apiDocuments(DocsAppModule);
    for (const [name, document] of [['openapi', expected.openapi], ['asyncapi', expected.asyncapi]] as const) {
      const res = await app.http.get(`/docs/${name}.json`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
      // Public files: no session cookie is set for them.
      expect(res.headers.get('set-cookie')).toBeNull();
      expect(await res.json()).toEqual(document);
    }
    const head = await app.http.fetch('/docs/openapi.json', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect((await app.http.get('/docs/other.json')).status).toBe(404);
    expect((await app.http.post('/docs/openapi.json', {})).status).toBe(404);
  });

  it('serves nothing without the option', async () => {
    app = await startTestApp(DocsAppModule);
    expect((await app.http.get('/docs/openapi.json')).status).toBe(404);
  });

  it('takes a path, info and security schemes', async () => {
    app = await startTestApp(DocsAppModule, {
      docs: { path: '/api-docs/', info: { title: 'Rooms', version: '2.1.0', description: 'Chat rooms' }, securitySchemes: { requireToken: { type: 'apiKey', in: 'header', name: 'authorization' } } },
    });
    const openapi = (await (await app.http.get('/api-docs/openapi.json')).json()) as Doc;
    expect(openapi.info).toEqual({ title: 'Rooms', version: '2.1.0', description: 'Chat rooms' });
    expect(openapi.components.securitySchemes.requireToken).toEqual({ type: 'apiKey', in: 'header', name: 'authorization' });
    const asyncapi = (await (await app.http.get('/api-docs/asyncapi.json')).json()) as Doc;
    // The same scheme in AsyncAPI's words.
    expect(asyncapi.components.securitySchemes.requireToken).toEqual({ type: 'httpApiKey', in: 'header', name: 'authorization' });
  });

  it('serves the example blog’s documents, through its csrf() middleware', async () => {
    app = await startTestApp(BlogModule, { views: BLOG_OPTIONS.views, middleware: BLOG_OPTIONS.middleware, docs: BLOG_OPTIONS.docs });
    const res = await app.http.get('/docs/openapi.json');
    expect(res.status).toBe(200);
    await validateOpenApi((await res.json()) as Doc);
    expect((await app.http.get('/docs/asyncapi.json')).status).toBe(200);
  });

  it('refuses a docs option it cannot serve, naming it and the fix', async () => {
    const refused = (docs: unknown) => bootstrap(DocsAppModule, { port: 0, docs: docs as never });
    await expect(refused('docs')).rejects.toThrow(new ConfigError("bootstrap docs.path must be a URL path starting with '/', such as '/docs', got 'docs'."));
    await expect(refused({ paht: '/docs' })).rejects.toThrow(new ConfigError("bootstrap docs has no option 'paht': use path, info or securitySchemes."));
    await expect(refused({ info: { version: 2 } })).rejects.toThrow(new ConfigError('bootstrap docs.info.version must be a non-empty string, got 2.'));
    await expect(refused({ securitySchemes: { requireToken: { type: 'basic' } } })).rejects.toThrow(
      /^bootstrap docs\.securitySchemes\.requireToken must be a security scheme with a type of http, apiKey, oauth2, openIdConnect, mutualTLS/,
    );
    await expect(refused({ securitySchemes: { requireToken: { type: 'http' } } })).rejects.toThrow(
      new ConfigError("bootstrap docs.securitySchemes.requireToken: a 'http' scheme needs scheme."),
    );
  });

  it('refuses documents that would hide a route', async () => {
    @Controller()
    class FilesController {
      @Route('/docs/:file')
      file() {
        return json({});
      }
    }
    @Module({ controllers: [FilesController] })
    class FilesModule {}
    await expect(bootstrap(FilesModule, { port: 0, docs: '/docs' })).rejects.toThrow(
      new ConfigError(
        "bootstrap docs serves /docs/openapi.json, which FilesController.file (GET /docs/:file) answers too: move the documents (docs: '/api-docs') or the route.",
      ),
    );
  });
});
