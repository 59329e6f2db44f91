// Bootstrap refuses a schema option that is not a Standard Schema, before the port opens, with a
// ConfigError naming the handler, the option and the fix; and a data schema on a handler of raw
// text or binary frames, which could never be applied (possible from JavaScript only).
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Controller, Module, OnMessage, Route, WebSocket, json, type Class, type Schema } from 'vela';
import { bootError } from '../support/boot-error.js';

const FIX = "Pass a zod (≥ 3.24), valibot (≥ 1) or arktype (≥ 2) schema, e.g. z.object({ name: z.string() }), or leave the option out.";

async function routeError(part: 'body' | 'query' | 'params' | 'headers', value: unknown): Promise<string> {
  @Controller({ prefix: '/api' })
  class UsersController {
    @Route('/users/:id', { methods: ['post'], [part]: value as Schema })
    update() {
      return json(null);
    }
  }
  @Module({ controllers: [UsersController] })
  class AppModule {}
  return (await bootError(AppModule)).message;
}

async function gatewayError(gateway: Class): Promise<string> {
  @Module({ gateways: [gateway] })
  class AppModule {}
  return (await bootError(AppModule)).message;
}

describe('bootstrap refuses', () => {
  it.each([
    ['body', { parse: () => ({}) }, '{ parse: [Function: parse] }'],
    ['query', 'z.object()', "'z.object()'"],
    ['params', { '~standard': { version: 2, validate: () => ({ value: 1 }) } }, "{ '~standard': { version: 2, validate: [Function: validate] } }"],
    ['headers', { '~standard': { version: 1 } }, "{ '~standard': { version: 1 } }"],
  ] as const)('a @Route %s that is not a Standard Schema, naming the route, the option and the fix', async (part, value, shown) => {
    expect(await routeError(part, value)).toBe(
      `UsersController.update (@Route ${part}): ${shown} is not a Standard Schema (an object with '~standard' holding version 1 and a validate function). ${FIX}`,
    );
  });

  it('an @OnMessage data that is not a Standard Schema, naming the gateway, the handler and the event', async () => {
    @WebSocket('/chat')
    class ChatGateway {
      @OnMessage('say', { data: z.string as unknown as Schema })
      say() {}
    }
    expect(await gatewayError(ChatGateway)).toMatch(
      /^ChatGateway\.say \(@OnMessage\('say'\) data\): \[Function: string\] is not a Standard Schema .* Pass a zod/,
    );
  });

  it.each([
    ['text', {}, '@OnMessage()', 'text'],
    ['binary', { binary: true }, '@OnMessage({ binary: true })', 'binary'],
  ])('a data schema on a %s handler (from JavaScript), saying what to use instead', async (_kind, options, decorator, frames) => {
    @WebSocket('/chat')
    class ChatGateway {
      @OnMessage({ ...options, data: z.string() } as { binary?: boolean })
      raw() {}
    }
    expect(await gatewayError(ChatGateway)).toBe(
      `ChatGateway.raw: a data schema validates JSON events, and ${decorator} takes raw ${frames} frames. ` +
        `Use @OnMessage('event', { data }) for {"event", "data"} frames, or check the frame inside the handler.`,
    );
  });
});
