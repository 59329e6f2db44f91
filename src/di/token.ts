// What can be asked of the container: a class, or an InjectionToken for values that have no class
// (configuration, interfaces, clocks). Tokens are objects, so two libraries never collide on a name.

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Class<T = unknown> = abstract new (...args: any[]) => T;

/**
 * A typed key for a value that is not a class instance.
 *
 * @example
 * export const CLOCK = new InjectionToken<() => number>('CLOCK');
 * providers: [{ provide: CLOCK, useValue: Date.now }]
 * constructor(@Inject(CLOCK) private readonly now: () => number) {}
 */
export class InjectionToken<T = unknown> {
  /** Phantom field so `InjectionToken<A>` and `InjectionToken<B>` stay distinct types. */
  declare readonly __type?: T;
  constructor(readonly description: string) {}
  toString(): string {
    return `InjectionToken(${this.description})`;
  }
}

export type Token<T = unknown> = Class<T> | InjectionToken<T>;

/** A readable name for error messages and logs. */
export function tokenName(token: unknown): string {
  if (typeof token === 'function') return token.name || '<anonymous class>';
  if (token instanceof InjectionToken) return token.toString();
  return String(token);
}
