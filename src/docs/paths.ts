// Route and gateway paths as the documents write them. Vela's paths are path-to-regexp 8's (the
// router's syntax): `:id` parameters, `*rest` wildcards and `{…}` optional groups. OpenAPI and
// AsyncAPI know only `{id}` templates, each a required segment, so a path with optional groups is
// written once per combination (`/posts/:id{/:tab}` → `/posts/{id}` and `/posts/{id}/{tab}`), and a
// wildcard becomes a parameter whose description says it spans slashes.
import { parse, type Token } from 'path-to-regexp';

export interface PathParameter {
  name: string;
  /** A `*name` wildcard: one or more segments, slashes included. */
  wildcard: boolean;
}

export interface TemplatePath {
  /** `/posts/{id}`. */
  template: string;
  parameters: PathParameter[];
}

/**
 * Every template `path` stands for, without optional groups first.
 *
 * @example
 * templatePaths('/posts/:id{/:tab}');
 * // [{ template: '/posts/{id}', parameters: [id] }, { template: '/posts/{id}/{tab}', parameters: [id, tab] }]
 */
export function templatePaths(path: string): TemplatePath[] {
  return expand(parse(path).tokens).map((tokens) => ({
    template: tokens.map((token) => (token.type === 'text' ? token.value : `{${token.name}}`)).join('') || '/',
    parameters: tokens.flatMap((token) => (token.type === 'text' ? [] : [{ name: token.name, wildcard: token.type === 'wildcard' }])),
  }));
}

type FlatToken = Exclude<Token, { type: 'group' }>;

/** Each combination of optional groups left out or kept, the shortest first. */
function expand(tokens: readonly Token[]): FlatToken[][] {
  let paths: FlatToken[][] = [[]];
  for (const token of tokens) {
    if (token.type !== 'group') {
      paths = paths.map((path) => [...path, token]);
      continue;
    }
    const groups = expand(token.tokens);
    paths = [...paths, ...paths.flatMap((path) => groups.map((group) => [...path, ...group]))];
  }
  return paths;
}

/** What a document says of a path parameter. */
export function parameterDescription(parameter: PathParameter): string | undefined {
  return parameter.wildcard ? `Wildcard (*${parameter.name}): the rest of the path, one or more segments, slashes included.` : undefined;
}
