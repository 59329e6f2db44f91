// Validation of a route's input: the parts `@Route(path, { body, query, params, headers })` names go
// through their Standard Schemas, and the handler gets every part's output as its second argument.
//
// It runs in the route's last step, after body parsing, the group's middleware and security. After
// security, so that a client who may not use the route gets its 401 (or its redirect to the login
// page), never a 400 whose issues would describe the schema to a stranger; after the middleware, so
// that what runs on the request as sent (a CSRF check, a method override) still sees it as sent.
// Only handlers see validated input, which is where the issue asks for it: "before the handler".
import type { Context } from 'koa';
import { HttpError } from './http-error.js';
import { isThenable } from './thenable.js';
import type { InputSchemas, Schema, Valid } from '../validation/schema.js';
import { issuesOf, requireSchema, runSchema, summarize, type Issue, type SchemaResult } from '../validation/validate.js';

export type RequestPart = 'params' | 'query' | 'headers' | 'body';

/** An issue of an HTTP request: `in` says which part it is in. */
export interface RequestIssue extends Issue {
  in: RequestPart;
}

/** The order issues are listed in: the URL's parts, then the headers, then the body. */
const PARTS: readonly RequestPart[] = ['params', 'query', 'headers', 'body'];

/**
 * A 400 for input that failed its route's schemas. Rendered through the status pages, so a
 * `@Route(400)` (which receives this error, `issues` included) or a fallback can shape it; Vela's
 * own page is `{ "error": "invalid request", "issues": [{ "in", "path", "message" }] }`.
 */
export class InvalidRequestError extends HttpError {
  override name = 'InvalidRequestError';
  readonly issues: readonly RequestIssue[];

  constructor(issues: readonly RequestIssue[]) {
    super(400, `invalid request: ${summarize(issues)}`);
    this.issues = issues;
  }
}

/** The route's schemas, each checked at bootstrap: only the parts given, or undefined for none. */
export function requireInput(input: InputSchemas | undefined, where: string): InputSchemas | undefined {
  if (input === undefined) return undefined;
  const checked: InputSchemas = {};
  for (const part of PARTS) if (input[part] !== undefined) checked[part] = requireSchema(input[part], `${where} (@Route ${part})`);
  return checked;
}

type Parts = Record<RequestPart, unknown>;

/**
 * Reads and validates a request's input for `where` (`UsersController.create`): the handler's
 * second argument, or an InvalidRequestError listing every part's issues at once. Synchronous when
 * every schema is; a schema that throws or rejects is a SchemaError, answered 500 and logged.
 */
export function inputReader(input: InputSchemas, where: string): (ctx: Context) => Valid | Promise<Valid> {
  const checks = PARTS.flatMap((part) => {
    const schema: Schema | undefined = input[part];
    return schema ? [{ part, schema, where: `${where} (@Route ${part} schema)` }] : [];
  });
  const setBody = input.body !== undefined;
  const setParams = input.params !== undefined;

  /** Every part's output in place of its value, or the issues of all of them. */
  const settle = (ctx: Context, parts: Parts, results: SchemaResult[]): Valid => {
    let issues: RequestIssue[] | undefined;
    for (let i = 0; i < checks.length; i++) {
      const result = results[i]!;
      const part = checks[i]!.part;
      if (!result.issues) parts[part] = result.value;
      else for (const { path, message } of issuesOf(result.issues)) (issues ??= []).push({ in: part, path, message });
    }
    if (issues) throw new InvalidRequestError(issues);
    // Code that reads the request rather than its second argument sees the validated values too.
    if (setBody) ctx.request.body = parts.body;
    if (setParams) ctx.params = parts.params as Context['params'];
    return parts as unknown as Valid;
  };

  return (ctx) => {
    const parts: Parts = { params: ctx.params, query: ctx.query, headers: ctx.headers, body: ctx.request.body };
    const results: SchemaResult[] = new Array(checks.length);
    let pending: Promise<unknown>[] | undefined;
    try {
      for (let i = 0; i < checks.length; i++) {
        const { part, schema, where: label } = checks[i]!;
        const result = runSchema(schema, parts[part], label);
        if (isThenable(result)) (pending ??= []).push(result.then((settled) => (results[i] = settled)));
        else results[i] = result;
      }
    } catch (error) {
      // An async schema already started may fail too: that failure has no one left to report to.
      for (const started of pending ?? []) started.catch(() => undefined);
      throw error;
    }
    return pending ? Promise.all(pending).then(() => settle(ctx, parts, results)) : settle(ctx, parts, results);
  };
}
