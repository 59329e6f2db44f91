// The four ways a module can provide a dependency, normalised into one shape the container reads.
import { ConfigError } from '../app/errors.js';
import { type Class, type Token, tokenName } from './token.js';

export interface ValueProvider<T = unknown> {
  provide: Token<T>;
  useValue: T;
}
export interface ClassProvider<T = unknown> {
  provide: Token<T>;
  useClass: Class<T>;
}
export interface FactoryProvider<T = unknown> {
  provide: Token<T>;
  /** Called once at bootstrap with the `inject` tokens resolved; may be async. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  useFactory: (...deps: any[]) => T | Promise<T>;
  inject?: readonly Token[];
}

/** A class (provided as itself) or one of the `{ provide, use… }` forms. */
export type Provider<T = unknown> = Class<T> | ValueProvider<T> | ClassProvider<T> | FactoryProvider<T>;

export type Definition =
  | { kind: 'class'; token: Token; useClass: Class }
  | { kind: 'value'; token: Token; value: unknown }
  | { kind: 'factory'; token: Token; factory: FactoryProvider['useFactory']; inject: readonly Token[] };

export function toDefinition(provider: Provider, origin: string): Definition {
  if (typeof provider === 'function') return { kind: 'class', token: provider, useClass: provider };
  if (provider === null || typeof provider !== 'object' || !('provide' in provider)) {
    throw new ConfigError(
      `${origin} lists a provider that is neither a class nor { provide, useValue | useClass | useFactory }: ${describe(provider)}.`,
    );
  }
  const where = `${origin} → provider ${tokenName(provider.provide)}`;
  if ('useValue' in provider) return { kind: 'value', token: provider.provide, value: provider.useValue };
  if ('useClass' in provider) {
    if (typeof provider.useClass !== 'function') throw new ConfigError(`${where}: useClass must be a class.`);
    return { kind: 'class', token: provider.provide, useClass: provider.useClass };
  }
  if ('useFactory' in provider) {
    if (typeof provider.useFactory !== 'function') throw new ConfigError(`${where}: useFactory must be a function.`);
    return { kind: 'factory', token: provider.provide, factory: provider.useFactory, inject: provider.inject ?? [] };
  }
  throw new ConfigError(`${where}: add one of useValue, useClass or useFactory.`);
}

/** Two definitions are the same when listing both would build the same thing. */
export function sameDefinition(a: Definition, b: Definition): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'class' && b.kind === 'class') return a.useClass === b.useClass;
  if (a.kind === 'value' && b.kind === 'value') return Object.is(a.value, b.value);
  if (a.kind === 'factory' && b.kind === 'factory') {
    return a.factory === b.factory && a.inject.length === b.inject.length && a.inject.every((t, i) => t === b.inject[i]);
  }
  return false;
}

export function describeDefinition(d: Definition): string {
  if (d.kind === 'class') return d.useClass === d.token ? 'class' : `useClass ${tokenName(d.useClass)}`;
  if (d.kind === 'value') return 'useValue';
  return 'useFactory';
}

function describe(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** The class behind a provider (itself, or its `useClass`), to check the decorators it carries. */
export function providerClass(provider: Provider): Class | undefined {
  if (typeof provider === 'function') return provider;
  return 'useClass' in provider ? provider.useClass : undefined;
}
