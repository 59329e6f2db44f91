// The OpenAPI 3.1 document of an app's HTTP routes, from the route table bootstrap builds: one
// operation per route and method (operationId `Controller.method`), parameters and request body
// from the route's schemas, responses from `responses` plus Vela's 400 answer on every route that
// validates, and the security scheme of its security function. Status routes are pages, not paths.
import { STATUS_CODES } from 'node:http';
import { ConfigError } from '../app/errors.js';
import type { RouteDefinition } from '../http/route-table.js';
import type { InputSchemas } from '../validation/schema.js';
import type { DocsSettings } from './docs-options.js';
import { httpIssueSchema, invalidRequestSchema } from './envelopes.js';
import { requireSchema } from '../validation/validate.js';
import { toJsonSchema, type JsonSchema } from './json-schema.js';
import { parameterDescription, templatePaths, type TemplatePath } from './paths.js';
import { SchemaComponents } from './schema-components.js';
import { SecuritySchemes } from './security-schemes.js';
import { uniqueName } from './names.js';

/** The methods an OpenAPI 3.1 path item has fields for; others go under `x-vela-methods`. */
const PATH_ITEM_METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);
const INVALID = '#/components/responses/VelaInvalidRequest';
/** Where a request part's parameters are, by the part's name in `@Route` options. */
const PARAMETER_IN = { params: 'path', query: 'query', headers: 'header' } as const;
type ParameterPart = keyof typeof PARAMETER_IN;

/**
 * @example
 * openApiDocument(buildRouteTable(loadModules(AppModule)).routes, settings).paths['/api/users/{id}'].get.operationId;
 * // 'UsersController.show'
 */
export function openApiDocument(routes: readonly RouteDefinition[], settings: DocsSettings): JsonSchema {
  const components = new SchemaComponents();
  const security = new SecuritySchemes(settings.securitySchemes);
  const paths: Record<string, Record<string, unknown>> = {};
  const operationIds = new Set<string>();
  // Vela's own components first, so that an app schema of the same name is the one renamed.
  const validates = routes.some((route) => route.input !== undefined);
  const invalid = validates ? components.define('VelaInvalidRequest', invalidRequestSchema(components.define('VelaIssue', httpIssueSchema()))) : undefined;

  for (const route of routes) {
    const where = `${route.controller.name}.${route.handlerName}`;
    const input = convertInput(route.input, where, components);
    const about = { tags: [route.controller.name], ...(typeof route.summary === 'string' ? { summary: route.summary } : {}) };
    const answers = { ...requestBody(input.body), responses: responses(route, where, components), ...securityOf(security.use(route.security)) };
    for (const template of templatePaths(route.path)) {
      const item = (paths[template.template] ??= {});
      for (const method of route.httpMethods) {
        const standard = PATH_ITEM_METHODS.has(method.toLowerCase());
        const target = standard ? item : ((item['x-vela-methods'] ??= {}) as Record<string, unknown>);
        const field = standard ? method.toLowerCase() : method;
        // Taken by a route the router tries first (tables are in that order): that one answers it.
        if (target[field]) continue;
        target[field] = { operationId: uniqueName(where, operationIds), ...about, ...parameters(template, input), ...answers };
      }
    }
  }

  return {
    openapi: '3.1.0',
    info: settings.info,
    paths,
    components: {
      ...(Object.keys(components.schemas).length > 0 ? { schemas: components.schemas } : {}),
      ...(invalid ? { responses: { VelaInvalidRequest: invalidResponse(invalid) } } : {}),
      ...nonEmpty('securitySchemes', security.openApi()),
    },
  };
}

/** Each request part's JSON Schema (the input side: what the client sends), placed in the document. */
function convertInput(input: InputSchemas | undefined, where: string, components: SchemaComponents): Partial<Record<keyof InputSchemas, JsonSchema>> {
  const converted: Partial<Record<keyof InputSchemas, JsonSchema>> = {};
  for (const part of ['params', 'query', 'headers', 'body'] as const) {
    const schema = input?.[part];
    if (schema === undefined) continue;
    const json = toJsonSchema(requireSchema(schema, `${where} (@Route ${part})`), 'input', 'draft-2020-12');
    converted[part] = components.place(json, `${where}.${part}`);
  }
  return converted;
}

/**
 * Path, query and header parameters: one per property of the part's object schema, `required`
 * from its `required`. A path parameter without a schema is a string. A part whose schema is not
 * an object with properties (a union, or a schema that could not be converted) is kept whole
 * under `x-vela-input`, never dropped.
 */
function parameters(template: TemplatePath, input: Partial<Record<keyof InputSchemas, JsonSchema>>): JsonSchema {
  const list: JsonSchema[] = [];
  const whole: Record<string, JsonSchema> = {};
  const split = (part: ParameterPart) => {
    const schema = input[part];
    if (schema === undefined) return undefined;
    if (schema.type === 'object' && typeof schema.properties === 'object' && schema.properties !== null) return schema;
    whole[part] = schema;
    return undefined;
  };
  const params = split('params');
  for (const parameter of template.parameters) {
    const schema = property(params, parameter.name) ?? { type: 'string' };
    const description = parameterDescription(parameter) ?? schema.description;
    list.push({ name: parameter.name, in: 'path', required: true, ...(description ? { description } : {}), schema });
  }
  for (const part of ['query', 'headers'] as const) {
    const schema = split(part);
    if (!schema) continue;
    const required = Array.isArray(schema.required) ? schema.required : [];
    for (const [name, inner] of Object.entries(schema.properties as Record<string, JsonSchema>)) {
      const description = typeof inner.description === 'string' ? { description: inner.description } : {};
      list.push({ name, in: PARAMETER_IN[part], required: required.includes(name), ...description, schema: inner });
    }
  }
  return { ...(list.length > 0 ? { parameters: list } : {}), ...(Object.keys(whole).length > 0 ? { 'x-vela-input': whole } : {}) };
}

function property(schema: JsonSchema | undefined, name: string): JsonSchema | undefined {
  const properties = schema?.properties as Record<string, JsonSchema> | undefined;
  return properties && Object.hasOwn(properties, name) ? properties[name] : undefined;
}

/** JSON and form bodies are both parsed into the object the schema validates. */
function requestBody(schema: JsonSchema | undefined): JsonSchema {
  if (!schema) return {};
  return { requestBody: { required: true, content: { 'application/json': { schema }, 'application/x-www-form-urlencoded': { schema } } } };
}

/** Declared responses (the output side: what the app produces), the 400 of validation, or a default. */
function responses(route: RouteDefinition, where: string, components: SchemaComponents): JsonSchema {
  const answers: JsonSchema = {};
  for (const [status, schema] of Object.entries(route.responses ?? {})) {
    if (!/^[1-5]\d\d$/.test(status)) {
      throw new ConfigError(`${where}: @Route responses has the key ${status}, which is not an HTTP status: key each schema by its status, e.g. { 200: User }.`);
    }
    const json = toJsonSchema(requireSchema(schema, `${where} (@Route responses[${status}])`), 'output', 'draft-2020-12');
    answers[status] = { description: STATUS_CODES[status] ?? `Status ${status}`, content: { 'application/json': { schema: components.place(json, `${where}.${status}`) } } };
  }
  if (route.input && !answers['400']) answers['400'] = { $ref: INVALID };
  if (!route.responses || Object.keys(route.responses).length === 0) {
    answers.default = { description: 'What the handler returns: not declared (add responses to @Route to document it).' };
  }
  return answers;
}

function invalidResponse(schema: JsonSchema): JsonSchema {
  return {
    description: 'The input did not validate: the issues say where and why. Rendered by the status page for 400, which an app may shape with @Route(400).',
    content: { 'application/json': { schema } },
  };
}

function securityOf(scheme: string | undefined): JsonSchema {
  return scheme ? { security: [{ [scheme]: [] }] } : {};
}

function nonEmpty(key: string, value: Record<string, unknown>): JsonSchema {
  return Object.keys(value).length > 0 ? { [key]: value } : {};
}
