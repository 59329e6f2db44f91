// How the documents show security. Vela's security is a function, which no document format can
// describe: each function becomes a security scheme named after it (as `vela routes` shows it),
// either the one the app declares in `docs.securitySchemes` or a generic one that says what it is.
// Routes and gateways with a function require its scheme; public ones require nothing.
import { ConfigError } from '../app/errors.js';
import type { Security } from '../http/security.js';
import type { SecurityScheme } from './docs-options.js';
import type { JsonSchema } from './json-schema.js';
import { keySafe } from './names.js';

/** The security functions a document uses, and their schemes. */
export class SecuritySchemes {
  readonly #declared: Readonly<Record<string, SecurityScheme>>;
  readonly #used = new Map<string, SecurityScheme>();

  constructor(declared: Readonly<Record<string, SecurityScheme>>) {
    this.#declared = declared;
  }

  /** The scheme name for `security`, or undefined for a public route or gateway. */
  use(security: Security): string | undefined {
    if (security === false) return undefined;
    const name = keySafe(security.name || 'anonymous');
    if (!this.#used.has(name)) this.#used.set(name, this.#declared[name] ?? genericScheme(name));
    return name;
  }

  /** `components.securitySchemes` of the OpenAPI document. */
  openApi(): Record<string, SecurityScheme> {
    return Object.fromEntries(this.#used);
  }

  /** `components.securitySchemes` of the AsyncAPI document: the same schemes in AsyncAPI 3.0's words. */
  asyncApi(): Record<string, JsonSchema> {
    return Object.fromEntries([...this.#used].map(([name, scheme]) => [name, asyncApiScheme(scheme)]));
  }

  /**
   * A declared scheme that names no security function of the app is a typo (or a renamed
   * function) that would leave the real one generic: refused, with the names there are.
   */
  checkDeclared(functions: Iterable<Security>, where: string): void {
    const names = new Set([...functions].flatMap((security) => (security === false ? [] : [security.name || 'anonymous'])));
    for (const name of Object.keys(this.#declared)) {
      if (!names.has(name)) {
        throw new ConfigError(
          `${where}.securitySchemes.${name} names no security function of the app ` +
            `(${names.size > 0 ? `they are: ${[...names].join(', ')}` : 'it has none'}): key each scheme by the function's name.`,
        );
      }
    }
  }
}

/** What the documents say of a security function the app did not describe. */
function genericScheme(name: string): SecurityScheme {
  return {
    type: 'http',
    scheme: 'custom',
    description:
      `Checked by the security function ${name} on the server; this document does not know what it reads. ` +
      `Describe it with bootstrap({ docs: { securitySchemes: { ${name}: { type: 'http', scheme: 'bearer' } } } }) or the scheme it uses.`,
  };
}

function asyncApiScheme(scheme: SecurityScheme): JsonSchema {
  switch (scheme.type) {
    case 'apiKey':
      return { ...scheme, type: 'httpApiKey' };
    case 'mutualTLS':
      return { ...scheme, type: 'X509' };
    case 'oauth2':
      return {
        ...scheme,
        flows: Object.fromEntries(Object.entries(scheme.flows).map(([flow, { scopes, ...rest }]) => [flow, { ...rest, availableScopes: scopes }])),
      };
    default:
      return { ...scheme };
  }
}
