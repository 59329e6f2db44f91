// Singleton dependency injection. Every provider is built once, eagerly, at bootstrap, so a missing
// dependency fails before the server listens; afterwards `get` and `factory` are synchronous
// (a gateway instance per WebSocket connection must not wait on the container).
import { ConfigError } from '../app/errors.js';
import { metadata } from '../app/metadata.js';
import { type Definition, type Provider, describeDefinition, sameDefinition, toDefinition } from './provider.js';
import { type Class, type Token, tokenName } from './token.js';

/** A singleton built from a class (itself or a `useClass`), with where it was registered. */
export interface Built {
  token: Token;
  instance: object;
  origin: string;
}

interface Registration {
  definition: Definition;
  origin: string;
}

/** Runtime types TypeScript emits for parameters that have no class of their own. */
const NOT_INJECTABLE = new Set<unknown>([Object, String, Number, Boolean, Symbol, BigInt, Array, Function, Promise]);

export class Container {
  readonly #registrations = new Map<Token, Registration>();
  readonly #instances = new Map<Token, unknown>();
  readonly #building = new Set<Token>();
  /** Instances built from classes, in the order they were finished: every dependency before its dependents. */
  readonly #built: Built[] = [];

  /**
   * Adds a provider. Listing the same definition twice (two modules importing one store) is fine;
   * two different definitions for one token is a configuration error unless `override` is set.
   */
  register(provider: Provider, origin: string, { override = false } = {}): void {
    const definition = toDefinition(provider, origin);
    const existing = this.#registrations.get(definition.token);
    if (existing && !override && !sameDefinition(existing.definition, definition)) {
      throw new ConfigError(
        `${tokenName(definition.token)} is provided twice with different definitions: ` +
          `${describeDefinition(existing.definition)} in ${existing.origin} and ${describeDefinition(definition)} in ${origin}. ` +
          `Keep one, or give each its own InjectionToken.`,
      );
    }
    if (!existing || override) this.#registrations.set(definition.token, { definition, origin });
  }

  has(token: Token): boolean {
    return this.#registrations.has(token);
  }

  /**
   * Builds every registered provider; the first unresolvable one fails with its dependency path.
   * `roots` (controllers) are built first so that path starts where the user looks:
   * `UsersController → UserStore → param #0`, not `UserStore → param #0`.
   * `perInstance` classes (gateways) are never singletons, but their dependencies are built from
   * them for the same reason, before the rest: `ChatGateway → Store → Clock`, not `Store → Clock`.
   */
  async initialize(roots: readonly Token[] = [], perInstance: readonly Class[] = []): Promise<void> {
    for (const token of roots) await this.#resolve(token, []);
    for (const cls of perInstance) {
      for (const { token, path } of this.#paramTokens(cls, [tokenName(cls)])) await this.#resolveParam(token, path);
    }
    for (const token of this.#registrations.keys()) await this.#resolve(token, []);
  }

  /** The singleton for `token`, after `initialize()`. */
  get<T>(token: Token<T> | Class): T {
    if (!this.#instances.has(token)) {
      throw new ConfigError(
        `${tokenName(token)} is not a provider of this app: add it to the providers of a module that bootstrap loads.`,
      );
    }
    return this.#instances.get(token) as T;
  }

  /**
   * The singletons built from classes, dependencies before dependents: the ones whose lifecycle
   * hooks the app runs. Values and factory results belong to whoever made them, as in NestJS.
   */
  classInstances(): readonly Built[] {
    return this.#built;
  }

  /**
   * Checks now that `cls` can be built, and returns a constructor that makes a new instance (not a
   * singleton) per call: one gateway per WebSocket connection, without looking anything up again.
   * A token in `scoped` is built per instance from the call's context (a PubSub bound to the
   * connection); every other parameter is the singleton.
   */
  factory<T, C = void>(cls: Class<T>, scoped: ReadonlyMap<Token, (context: C) => unknown> = new Map()): (context: C) => T {
    const params = this.#paramTokens(cls, [tokenName(cls)]).map(({ token, path }) => {
      const perInstance = scoped.get(token as Token);
      if (perInstance) return perInstance;
      this.#requireResolvable(token, path);
      const singleton = this.#instances.get(token as Token);
      return () => singleton;
    });
    return (context) => new (cls as new (...a: unknown[]) => T)(...params.map((param) => param(context)));
  }

  async #resolve(token: Token, path: readonly string[]): Promise<unknown> {
    if (this.#instances.has(token)) return this.#instances.get(token);
    const here = [...path, tokenName(token)];
    if (this.#building.has(token)) {
      throw new ConfigError(
        `Circular dependency: ${here.join(' → ')}. Break the cycle, e.g. by moving the shared part into a third provider.`,
      );
    }
    const registration = this.#registrations.get(token);
    if (!registration) throw unresolvable(path, token);

    this.#building.add(token);
    try {
      const instance = await this.#build(registration.definition, here);
      this.#instances.set(token, instance);
      if (registration.definition.kind === 'class') this.#built.push({ token, instance: instance as object, origin: registration.origin });
      return instance;
    } finally {
      this.#building.delete(token);
    }
  }

  async #build(definition: Definition, path: readonly string[]): Promise<unknown> {
    switch (definition.kind) {
      case 'value':
        return definition.value;
      case 'factory': {
        const deps = [];
        for (const [i, token] of definition.inject.entries()) {
          deps.push(await this.#resolveParam(token, [...path, `inject[${i}]`]));
        }
        return definition.factory(...deps);
      }
      case 'class': {
        const deps = [];
        for (const { token, path: paramPath } of this.#paramTokens(definition.useClass, path)) {
          deps.push(await this.#resolveParam(token, paramPath));
        }
        return new (definition.useClass as new (...a: unknown[]) => unknown)(...deps);
      }
    }
  }

  async #resolveParam(token: unknown, path: readonly string[]): Promise<unknown> {
    this.#requireInjectable(token, path);
    return this.#resolve(token as Token, path.slice(0, -1));
  }

  #paramTokens(cls: Class, path: readonly string[]): { token: unknown; path: string[] }[] {
    const declared = metadata.getParamTypes(cls);
    const explicit = metadata.getInjectTokens(cls);
    if (declared.length === 0 && cls.length > explicit.size) {
      throw new ConfigError(
        `Cannot resolve ${path.join(' → ')}: its constructor takes ${cls.length} parameter(s) but TypeScript emitted no types for them. ` +
          `Decorate the class with @Injectable() and enable "emitDecoratorMetadata" and "experimentalDecorators" in tsconfig.json.`,
      );
    }
    const count = Math.max(declared.length, cls.length, ...[...explicit.keys()].map((i) => i + 1));
    return Array.from({ length: count }, (_, i) => {
      const token = explicit.get(i) ?? declared[i];
      return { token, path: [...path, `param #${i} (${typeLabel(declared[i])})`] };
    });
  }

  #requireResolvable(token: unknown, path: readonly string[]): void {
    this.#requireInjectable(token, path);
    if (!this.#instances.has(token as Token)) throw unresolvable(path.slice(0, -1), token as Token, path);
  }

  #requireInjectable(token: unknown, path: readonly string[]): void {
    if (token === undefined) {
      throw new ConfigError(
        `Cannot resolve ${path.join(' → ')}: its type was undefined when the class was decorated, ` +
          `usually a circular import between files. Use @Inject(Token) or break the import cycle.`,
      );
    }
    if (NOT_INJECTABLE.has(token)) {
      throw new ConfigError(
        `Cannot resolve ${path.join(' → ')}: an interface, type alias or primitive has no runtime identity to inject. ` +
          `Create an InjectionToken, provide it ({ provide: TOKEN, useValue }) and mark the parameter with @Inject(TOKEN).`,
      );
    }
  }
}

function unresolvable(path: readonly string[], token: Token, fullPath?: readonly string[]): ConfigError {
  const where = (fullPath ?? [...path, tokenName(token)]).join(' → ');
  return new ConfigError(
    `Cannot resolve ${where}: ${tokenName(token)} is not a provider. ` +
      `Add it to the providers of a module that bootstrap loads${typeof token === 'function' ? ` (and decorate it with @Injectable() if its constructor takes parameters)` : ''}.`,
  );
}

function typeLabel(type: unknown): string {
  if (type === undefined) return 'undefined';
  return typeof type === 'function' ? type.name || 'anonymous' : String(type);
}
