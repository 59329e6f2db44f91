// Names in the documents: component keys, operation ids and channel ids must be unique, and
// component keys may only use `A-Z a-z 0-9 . _ -` (OpenAPI's and AsyncAPI's rule), while Vela's
// names (`room:join`, a bound function's `bound check`) may use anything.

/** `name` with every character a component key may not have replaced by `_`. */
export function keySafe(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '_') || '_';
}

/**
 * `name`, or `name_2`, `name_3`… when taken; the result is added to `taken`.
 *
 * @example uniqueName('UsersController.show', ids); // 'UsersController.show', then 'UsersController.show_2'
 */
export function uniqueName(name: string, taken: Set<string>): string {
  let candidate = name;
  for (let n = 2; taken.has(candidate); n++) candidate = `${name}_${n}`;
  taken.add(candidate);
  return candidate;
}
