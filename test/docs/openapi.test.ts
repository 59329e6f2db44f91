// The OpenAPI 3.1 document: valid for the reference parser, for the example blog and for an app
// using every feature; every route of the route table in it; schemas of zod, valibot and arktype
// shown as they convert, or marked; security, the 400 answer and defaults where a reader needs them.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Controller, ConfigError, Module, Route, json } from '../../src/index.js';
import { apiDocuments } from '../../src/docs/documents.js';
import { describeApp } from '../../src/cli/describe-app.js';
import { AppModule as BlogModule, BLOG_OPTIONS } from '../../example/blog/app.module.js';
import { DocsAppModule } from '../fixtures/docs-app.js';
import { deref, operationOf, validateOpenApi, type Doc } from './spec-support.js';

const blog = () => apiDocuments(BlogModule, BLOG_OPTIONS.docs).openapi as Doc;
const fixture = () => apiDocuments(DocsAppModule).openapi as Doc;
const jsonSchemaOf = (doc: Doc, content: Doc | undefined) => deref(doc, content?.['application/json']?.schema);

/** Every route and method of the route table (as `vela routes` lists it) has its operation, named after its handler. */
function expectEveryRoute(doc: Doc, module: Parameters<typeof describeApp>[0], skip: (path: string) => boolean = () => false) {
  const routes = describeApp(module).routes.filter((route) => !skip(route.path));
  expect(routes.length).toBeGreaterThan(0);
  for (const route of routes) {
    for (const method of route.methods) {
      const operation = operationOf(doc, method, route.path);
      expect(operation, `${method} ${route.path} (${route.handler}) is missing`).toBeDefined();
      expect(operation!.operationId).toMatch(new RegExp(`^${route.handler.replace('.', '\\.')}(_\\d+)?$`));
    }
  }
}

describe('OpenAPI document', () => {
  it('of the example blog is valid OpenAPI 3.1 and has every route of its table', async () => {
    const doc = blog();
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toEqual({ title: 'Vela blog', version: '1.0.0' });
    await validateOpenApi(doc);
    expectEveryRoute(doc, BlogModule);
  });

  it('of an app using every feature is valid and has every route of its table', async () => {
    const doc = fixture();
    await validateOpenApi(doc);
    expectEveryRoute(doc, DocsAppModule, (path) => path.includes('{'));
    // A path with an optional group stands for two templates; a wildcard is one parameter.
    expect(doc.paths['/api/users/{id}'].get.operationId).toBe('UsersController.show');
    expect(doc.paths['/api/users/{id}/{tab}'].get.operationId).toBe('UsersController.tab');
    expect(doc.paths['/api/files/{path}'].get.parameters).toEqual([
      { name: 'path', in: 'path', required: true, description: expect.stringContaining('slashes included'), schema: { type: 'string' } },
    ]);
    // A method OpenAPI has no field for is kept under an extension, not dropped.
    expect(doc.paths['/api/purge']['x-vela-methods'].PURGE.operationId).toBe('UsersController.purge');
  });

  it('is refused by the validator when broken, so the tests above can fail', async () => {
    const doc = fixture();
    delete doc.components.schemas.User;
    await expect(validateOpenApi(doc)).rejects.toThrow(/User/);
  });

  it('lists status routes nowhere, and no docs route', () => {
    const doc = fixture();
    expect(Object.values(doc.paths).flatMap((item) => Object.values(item as Doc)).map((op) => op.operationId)).not.toContain('UsersController.notFound');
    expect(Object.keys(blog().paths).filter((path) => path.startsWith('/docs'))).toEqual([]);
  });

  it('writes parameters from the schemas: query and headers one per property, path parameters as strings without one', () => {
    const doc = fixture();
    expect(doc.paths['/api/users'].get.parameters).toEqual([
      { name: 'page', in: 'query', required: false, schema: expect.objectContaining({ type: 'integer', minimum: 1, default: 1 }) },
      { name: 'q', in: 'query', required: false, description: 'Full-text filter', schema: { type: 'string', description: 'Full-text filter' } },
    ]);
    // arktype headers: required from the schema's `required`.
    expect(doc.paths['/api/users'].post.parameters).toEqual([
      { name: 'x-api-key', in: 'header', required: true, schema: { type: 'string', minLength: 9 } },
      { name: 'x-trace', in: 'header', required: false, schema: { type: 'string' } },
    ]);
    // arktype params: the input side (a numeric string), not what the handler gets (a number).
    expect(doc.paths['/api/users/{id}'].get.parameters).toEqual([{ name: 'id', in: 'path', required: true, schema: expect.objectContaining({ type: 'string', pattern: expect.any(String) }) }]);
    expect(doc.paths['/api/users/{id}/{tab}'].get.parameters.map((p: Doc) => [p.name, p.schema])).toEqual([
      ['id', { type: 'string' }],
      ['tab', { type: 'string' }],
    ]);
  });

  it('writes the body as JSON and form content, and declared responses from the output side', () => {
    const doc = fixture();
    const create = doc.paths['/api/users'].post;
    expect(create.requestBody.required).toBe(true);
    expect(Object.keys(create.requestBody.content)).toEqual(['application/json', 'application/x-www-form-urlencoded']);
    expect(jsonSchemaOf(doc, create.requestBody.content)).toMatchObject({ type: 'object', required: ['name', 'email'], properties: { age: { type: 'integer', default: 18 } } });
    // zod's `.meta({ id: 'User' })` becomes one shared component, referred to from each response.
    expect(create.responses['201'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/User' });
    expect(jsonSchemaOf(doc, doc.paths['/api/users/{id}'].get.responses['200'].content)).toMatchObject({ required: ['id', 'name', 'email'] });
    expect(doc.paths['/api/users'].get.responses['200'].content['application/json'].schema).toEqual({ type: 'array', items: { $ref: '#/components/schemas/User' } });
    expect(doc.paths['/api/users/{id}'].get.responses['404'].description).toBe('Not Found');
  });

  it('moves a recursive schema into the components, its references rewritten', () => {
    const doc = fixture();
    const body = doc.paths['/api/categories'].put.requestBody.content['application/json'].schema;
    const category = deref(doc, body);
    expect(deref(doc, category.properties.children.items)).toBe(category);
  });

  it('adds the 400 answer to every route that validates, and a default response where none is declared', () => {
    const doc = fixture();
    const invalid = { $ref: '#/components/responses/VelaInvalidRequest' };
    expect(doc.paths['/api/users'].post.responses['400']).toEqual(invalid);
    expect(doc.paths['/api/notes'].post.responses['400']).toEqual(invalid);
    expect(doc.paths['/admin/stats'].get.responses['400']).toBeUndefined();
    expect(doc.paths['/admin/ping'].get.responses).toEqual({ default: { description: expect.stringContaining('not declared') } });
    const body = jsonSchemaOf(doc, doc.components.responses.VelaInvalidRequest.content);
    expect(body.properties.error).toEqual({ const: 'invalid request' });
    expect(deref(doc, body.properties.issues.items)).toMatchObject({ required: ['in', 'path', 'message'], properties: { in: { enum: ['body', 'query', 'params', 'headers'] } } });
  });

  it('marks what it cannot convert, with the vendor and the reason, never dropping it', () => {
    const doc = fixture();
    const notes = doc.paths['/api/notes'].post;
    expect(notes.requestBody.content['application/json'].schema).toEqual({
      description: 'not convertible: valibot schema without ~standard.jsonSchema',
      'x-vela-unconvertible': 'valibot',
    });
    // A query schema that is not an object with properties is kept whole.
    expect(notes['x-vela-input'].query).toEqual({
      description: "not convertible: odd schema: ~standard.jsonSchema.input() returned 'not a schema'",
      'x-vela-unconvertible': 'odd',
    });
    expect(doc.paths['/api/dated'].post.responses['200'].content['application/json'].schema).toEqual({
      description: 'not convertible: zod schema: Date cannot be represented in JSON Schema',
      'x-vela-unconvertible': 'zod',
    });
  });

  it('requires the security function’s scheme on secured routes only, generic unless the app describes it', () => {
    const doc = fixture();
    expect(doc.paths['/admin/stats'].get.security).toEqual([{ requireToken: [] }]);
    expect(doc.paths['/admin/staff'].get.security).toEqual([{ staffOnly: [] }]);
    expect(doc.paths['/admin/ping'].get.security).toBeUndefined();
    expect(doc.paths['/api/users'].get.security).toBeUndefined();
    expect(doc.components.securitySchemes.requireToken).toMatchObject({ type: 'http', scheme: 'custom', description: expect.stringContaining('requireToken') });

    const described = apiDocuments(DocsAppModule, { securitySchemes: { requireToken: { type: 'http', scheme: 'bearer' } } }).openapi as Doc;
    expect(described.components.securitySchemes.requireToken).toEqual({ type: 'http', scheme: 'bearer' });
  });

  it('refuses a scheme that names no security function, and a response that is not a Standard Schema', () => {
    expect(() => apiDocuments(DocsAppModule, { securitySchemes: { requireTokn: { type: 'http', scheme: 'bearer' } } })).toThrow(
      new ConfigError(
        "docs.securitySchemes.requireTokn names no security function of the app (they are: requireToken, staffOnly): key each scheme by the function's name.",
      ),
    );

    @Controller()
    class BadController {
      @Route('/bad', { responses: { 200: { type: 'object' } as never } })
      bad() {
        return json({});
      }
    }
    @Module({ controllers: [BadController] })
    class BadModule {}
    expect(() => apiDocuments(BadModule)).toThrow(/^BadController\.bad \(@Route responses\[200\]\): \{ type: 'object' \} is not a Standard Schema .* Pass a zod/);

    @Controller()
    class BadStatusController {
      @Route('/bad', { responses: { 20: z.string() } })
      bad() {
        return json({});
      }
    }
    @Module({ controllers: [BadStatusController] })
    class BadStatusModule {}
    expect(() => apiDocuments(BadStatusModule)).toThrow('BadStatusController.bad: @Route responses has the key 20, which is not an HTTP status');
  });
});
