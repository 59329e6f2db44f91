// The `docs` option of bootstrap (and what `vela docs --options` reads): where the API documents
// are served, their `info`, and the security schemes that describe the app's security functions.
// Checked once, with a ConfigError naming the key and the fix, like every other bootstrap option.
import { ConfigError, describeValue } from '../app/errors.js';

/** What the documents say of the API as a whole (OpenAPI and AsyncAPI `info`). */
export interface DocsInfo {
  /** Default: the root module's class name. */
  title?: string;
  /** The API's version, not Vela's. Default `0.0.0`. */
  version?: string;
  description?: string;
}

/**
 * How a security function is documented: an OpenAPI 3.1 Security Scheme Object (AsyncAPI gets the
 * same scheme in its own words). `http` with `scheme: 'basic' | 'bearer' | …`, `apiKey` in a header,
 * query parameter or cookie, `oauth2`, `openIdConnect`, `mutualTLS`.
 */
export type SecurityScheme =
  | { type: 'http'; scheme: string; bearerFormat?: string; description?: string }
  | { type: 'apiKey'; name: string; in: 'header' | 'query' | 'cookie'; description?: string }
  | { type: 'oauth2'; flows: Record<string, { authorizationUrl?: string; tokenUrl?: string; refreshUrl?: string; scopes: Record<string, string> }>; description?: string }
  | { type: 'openIdConnect'; openIdConnectUrl: string; description?: string }
  | { type: 'mutualTLS'; description?: string };

export interface DocsOptions {
  /** Where the documents are served: `<path>/openapi.json` and `<path>/asyncapi.json`. Default `/docs`. */
  path?: string;
  info?: DocsInfo;
  /**
   * Security schemes by the name of the security function they describe, e.g.
   * `{ requireToken: { type: 'http', scheme: 'bearer' } }`. A security function without one is
   * shown with a generic scheme named after it that says so.
   */
  securitySchemes?: Readonly<Record<string, SecurityScheme>>;
}

/** The options with their defaults, checked. */
export interface DocsSettings {
  path: string;
  info: Required<Pick<DocsInfo, 'title' | 'version'>> & Pick<DocsInfo, 'description'>;
  securitySchemes: Readonly<Record<string, SecurityScheme>>;
}

export const DEFAULT_DOCS_PATH = '/docs';

const REQUIRED_FIELDS: Record<SecurityScheme['type'], readonly string[]> = {
  http: ['scheme'],
  apiKey: ['name', 'in'],
  oauth2: ['flows'],
  openIdConnect: ['openIdConnectUrl'],
  mutualTLS: [],
};

/**
 * `bootstrap({ docs })` as settings: a path string or DocsOptions; `undefined` or `false` when the
 * documents are not served. `title` is the default title (the root module's name).
 */
export function docsSettings(docs: unknown, title: string, where = 'bootstrap docs'): DocsSettings | undefined {
  if (docs === undefined || docs === false) return undefined;
  const options = typeof docs === 'string' ? { path: docs } : docs;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new ConfigError(`${where} must be a path such as '/docs' or { path, info, securitySchemes }, got ${describeValue(docs)}.`);
  }
  const { path = DEFAULT_DOCS_PATH, info = {}, securitySchemes = {} } = options as DocsOptions;
  for (const key of Object.keys(options)) {
    if (!['path', 'info', 'securitySchemes'].includes(key)) throw new ConfigError(`${where} has no option '${key}': use path, info or securitySchemes.`);
  }
  if (typeof path !== 'string' || !/^\/[^?#\s]*$/.test(path)) {
    throw new ConfigError(`${where}.path must be a URL path starting with '/', such as '/docs', got ${describeValue(path)}.`);
  }
  return {
    path: path.length > 1 ? path.replace(/\/+$/, '') : '',
    info: { ...infoOf(info, `${where}.info`), title: (info as DocsInfo).title ?? title, version: (info as DocsInfo).version ?? '0.0.0' },
    securitySchemes: schemesOf(securitySchemes, `${where}.securitySchemes`),
  };
}

function infoOf(info: unknown, where: string): DocsInfo {
  if (typeof info !== 'object' || info === null || Array.isArray(info)) {
    throw new ConfigError(`${where} must be an object such as { title: 'Blog API', version: '1.2.0' }, got ${describeValue(info)}.`);
  }
  for (const [key, value] of Object.entries(info)) {
    if (!['title', 'version', 'description'].includes(key)) throw new ConfigError(`${where} has no field '${key}': use title, version or description.`);
    if (typeof value !== 'string' || value === '') throw new ConfigError(`${where}.${key} must be a non-empty string, got ${describeValue(value)}.`);
  }
  return info as DocsInfo;
}

function schemesOf(schemes: unknown, where: string): Record<string, SecurityScheme> {
  if (typeof schemes !== 'object' || schemes === null || Array.isArray(schemes)) {
    throw new ConfigError(`${where} must be an object of schemes by security function name, got ${describeValue(schemes)}.`);
  }
  for (const [name, scheme] of Object.entries(schemes)) {
    const type = (scheme as { type?: unknown } | null)?.type;
    const required = typeof type === 'string' && Object.hasOwn(REQUIRED_FIELDS, type) ? REQUIRED_FIELDS[type as SecurityScheme['type']] : undefined;
    if (!required) {
      throw new ConfigError(
        `${where}.${name} must be a security scheme with a type of ${Object.keys(REQUIRED_FIELDS).join(', ')}, ` +
          `e.g. { type: 'http', scheme: 'bearer' }; got ${describeValue(scheme)}.`,
      );
    }
    const missing = required.filter((field) => (scheme as Record<string, unknown>)[field] === undefined);
    if (missing.length > 0) throw new ConfigError(`${where}.${name}: a '${String(type)}' scheme needs ${missing.join(' and ')}.`);
  }
  return schemes as Record<string, SecurityScheme>;
}
