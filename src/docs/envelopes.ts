// The shapes Vela itself puts on the wire around an app's data, as JSON Schema, so the documents
// describe what a client really sends and receives: the 400 answer to invalid HTTP input, the
// event frame, a request's answer and the `vela:error` event. Each is defined once per document.
import { MAX_REF_LENGTH } from '../ws/frames.js';
import type { JsonSchema } from './json-schema.js';

/** One problem with the input, as validation reports it. `in` only in HTTP answers. */
function issue(http: boolean): JsonSchema {
  return {
    type: 'object',
    required: http ? ['in', 'path', 'message'] : ['path', 'message'],
    properties: {
      ...(http ? { in: { enum: ['body', 'query', 'params', 'headers'], description: 'The part of the request the problem is in.' } } : {}),
      path: { type: 'array', items: { type: ['string', 'integer'] }, description: 'Where in that part: property names and array indexes.' },
      message: { type: 'string' },
    },
  };
}

/** OpenAPI: the 400 body of a route whose input did not validate. */
export function invalidRequestSchema(issueRef: JsonSchema): JsonSchema {
  return {
    type: 'object',
    required: ['error', 'issues'],
    properties: { error: { const: 'invalid request' }, issues: { type: 'array', items: issueRef } },
  };
}

export const httpIssueSchema = (): JsonSchema => issue(true);
export const eventIssueSchema = (): JsonSchema => issue(false);

const ref = (): JsonSchema => ({
  type: 'string',
  minLength: 1,
  maxLength: MAX_REF_LENGTH,
  description: 'Makes the event a request: the server answers exactly once, with a frame carrying the same ref.',
});

/** AsyncAPI: the frame a client sends for `@OnMessage(event)`: `{ event, data, ref? }`. */
export function eventFrameSchema(event: string, data: JsonSchema | undefined): JsonSchema {
  return {
    type: 'object',
    required: data ? ['event', 'data'] : ['event'],
    properties: { event: { const: event }, data: data ?? { description: 'Any JSON: the event declares no data schema.' }, ref: ref() },
  };
}

/** AsyncAPI: a frame the server pushes, `{ event, data }`. */
export function pushFrameSchema(event: string, data: JsonSchema): JsonSchema {
  return { type: 'object', required: ['event', 'data'], properties: { event: { const: event }, data } };
}

/** AsyncAPI: the answer to a request that failed, `{ ref, error: { code, message, issues? } }`. */
export function requestErrorSchema(issueRef: JsonSchema): JsonSchema {
  return {
    type: 'object',
    required: ['ref', 'error'],
    properties: {
      ref: { type: 'string' },
      error: {
        type: 'object',
        required: ['code', 'message'],
        properties: {
          code: {
            type: 'string',
            pattern: '^[a-z0-9_.-]+$',
            description: "'invalid' when the data did not validate (with issues), 'internal' when the handler failed, or the code of the WsError it threw.",
          },
          message: { type: 'string' },
          issues: { type: 'array', items: issueRef, description: "With code 'invalid'." },
        },
      },
    },
  };
}

/** AsyncAPI: the answer to a request that succeeded, `{ ref, ok }`. */
export function requestOkSchema(ok: JsonSchema): JsonSchema {
  return { type: 'object', required: ['ref', 'ok'], properties: { ref: { type: 'string' }, ok } };
}

/** AsyncAPI: the event sent when a plain event's data did not validate (a request gets its answer instead). */
export function velaErrorSchema(issueRef: JsonSchema): JsonSchema {
  return {
    type: 'object',
    required: ['event', 'data'],
    properties: {
      event: { const: 'vela:error' },
      data: {
        type: 'object',
        required: ['event', 'code', 'message'],
        properties: {
          event: { type: 'string', description: 'The event whose data was refused, or whose schema failed.' },
          code: {
            enum: ['invalid', 'internal'],
            description: "'invalid': the data did not match the event's schema (see issues); 'internal': the schema itself threw (logged on the server).",
          },
          message: { type: 'string' },
          issues: { type: 'array', items: issueRef, description: "Present when code is 'invalid'." },
        },
      },
    },
  };
}
