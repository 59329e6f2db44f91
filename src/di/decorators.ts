// DI decorators. Like the HTTP and WebSocket ones, each records plain data on the class through
// metadata.ts and nothing else; the container reads it at bootstrap.
import { metadata } from '../app/metadata.js';
import type { Class, Token } from './token.js';

/** Injects `token` into this constructor parameter instead of the parameter's declared type. */
export function Inject(token: Token): ParameterDecorator {
  return (target, _property, index) => metadata.setInjectToken(target as Class, index, token);
}

/**
 * Marks a provider class so TypeScript emits its constructor parameter types. Controllers and
 * gateways do not need it: their own decorators have the same effect.
 */
export function Injectable(): ClassDecorator {
  return (target) => metadata.markInjectable(target as unknown as Class);
}
