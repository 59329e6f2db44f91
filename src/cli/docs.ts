// `vela docs [entry]`: prints the app's API documents as JSON — the OpenAPI 3.1 document of its
// routes and the AsyncAPI 3.0 document of its gateways, as `bootstrap({ docs })` serves them —
// from the entry that exports the root @Module, without starting a server (as `vela routes`).
// `--options <export>` names the entry's export holding the app's bootstrap options, whose `docs`
// (info, security schemes) the served documents use too.
import { apiDocuments } from '../docs/documents.js';
import type { DocsOptions } from '../docs/docs-options.js';
import { CliError } from './cli-error.js';
import { loadEntry, type EntryOptions } from './routes.js';

export interface DocsCommandOptions extends EntryOptions {
  /** Only the OpenAPI document. */
  openapi?: boolean;
  /** Only the AsyncAPI document. */
  asyncapi?: boolean;
  /** The export of the entry holding bootstrap options, e.g. `BLOG_OPTIONS`: its `docs` is used. */
  options?: string;
}

/** The JSON `vela docs` prints: `{ openapi, asyncapi }`, or the one document asked for. */
export async function docs(options: DocsCommandOptions = {}): Promise<string> {
  const { root, exports, shown } = await loadEntry(options, 'docs');
  const settings = options.options === undefined ? {} : docsOptionsOf(exports, options.options, shown);
  const documents = apiDocuments(root, settings);
  const chosen = options.openapi === options.asyncapi ? documents : options.openapi ? documents.openapi : documents.asyncapi;
  return JSON.stringify(chosen, null, 2);
}

function docsOptionsOf(exports: Record<string, unknown>, name: string, shown: string): string | DocsOptions {
  if (!Object.hasOwn(exports, name)) throw new CliError(`${shown} does not export ${name}; it exports ${Object.keys(exports).join(', ') || 'nothing'}.`);
  const docs = (exports[name] as { docs?: unknown } | null | undefined)?.docs;
  if (docs === undefined || docs === false) {
    throw new CliError(`${name} in ${shown} has no docs option: --options names the bootstrap options the app starts with, e.g. { docs: '/docs' }.`);
  }
  return docs as string | DocsOptions;
}
