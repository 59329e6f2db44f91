// How deep arrays and objects in parsed JSON may nest, shared by HTTP bodies and WebSocket event
// frames: JSON.parse copes with any depth, but the app's recursive code (JSON.stringify, a deep
// merge, a validator) overflows the stack on `[[[[…]]]]` a few thousand deep, which fits in 10 KB.

/** `body.jsonDepth`'s default, as .NET's System.Text.Json. */
export const DEFAULT_JSON_DEPTH = 64;

/** Whether arrays and objects in `value` nest more than `limit` deep; iterative, so never a stack overflow. */
export function deeperThan(value: unknown, limit: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const stack: [object, number][] = [[value, 1]];
  for (let top = stack.pop(); top; top = stack.pop()) {
    const [node, depth] = top;
    if (depth > limit) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}
