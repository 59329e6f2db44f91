// @Module and the walk over a module tree. Modules are only lists; the walk flattens them, in
// import order, into what bootstrap wires. No global registry: what is not listed does not exist.
import type { Class } from '../di/token.js';
import type { Provider } from '../di/provider.js';
import type { ResultHandler } from '../http/handler-registry.js';
import type { StaticRoute } from '../files/static-routes.js';
import type { ChannelOptions } from '../pubsub/history.js';
import { ConfigError } from './errors.js';
import { metadata } from './metadata.js';

export interface ModuleOptions {
  /** Modules whose controllers, gateways, providers and handlers join this one. */
  imports?: Class[];
  /** Classes decorated with @Controller. */
  controllers?: Class[];
  /** Classes decorated with @WebSocket: one instance per connection. */
  gateways?: Class[];
  /** Classes, or `{ provide, useValue | useClass | useFactory }`. */
  providers?: Provider[];
  /** Custom result tags: `{ xml: (ctx, body) => … }` lets controllers return `['xml', body]`. */
  handlers?: Record<string, ResultHandler>;
  /** Directories served under a URL prefix: `[{ prefix: '/assets', dir: 'public' }]`. */
  static?: StaticRoute[];
  /**
   * Channels that keep history, by exact name or `prefix*`:
   * `{ comments: { history: { size: 1_000, ttl: 120_000 } }, 'room:*': { history: { size: 200, ttl: 60_000 } } }`.
   */
  channels?: Record<string, ChannelOptions>;
}

/**
 * Groups controllers, gateways, providers and result handlers.
 *
 * @example
 * @Module({ imports: [UsersModule], controllers: [HomeController], providers: [Clock] })
 * class AppModule {}
 */
export function Module(options: ModuleOptions = {}): ClassDecorator {
  return (target) => metadata.setModule(target as unknown as Class, options);
}

/** One module after the walk: its own lists, plus its module-wide fallback. */
export interface LoadedModule {
  module: Class;
  controllers: Class[];
  gateways: Class[];
  providers: Provider[];
  handlers: Record<string, ResultHandler>;
  /** As declared; bootstrap validates them. */
  static: StaticRoute[];
  /** As declared; bootstrap validates them (app/channels.ts). */
  channels: Record<string, ChannelOptions>;
  fallback?: Class;
}

/** Imported modules first, each once, so a module's dependencies are known before it. */
export function loadModules(root: Class): LoadedModule[] {
  const loaded: LoadedModule[] = [];
  const seen = new Set<Class>();
  const visit = (module: unknown, path: string[]): void => {
    if (typeof module !== 'function') {
      throw new ConfigError(
        `${path.join(' → ')} imports ${String(module)}, which is not a module class. ` +
          `An undefined import usually means a circular import between files.`,
      );
    }
    const cls = module as Class;
    if (seen.has(cls)) return;
    seen.add(cls);
    const options = metadata.getModule<ModuleOptions>(cls);
    const here = [...path, cls.name];
    if (!options) {
      throw new ConfigError(`${here.join(' → ')} is not a module: decorate ${cls.name} with @Module({ … }).`);
    }
    for (const imported of options.imports ?? []) visit(imported, here);
    loaded.push({
      module: cls,
      controllers: [...(options.controllers ?? [])],
      gateways: [...(options.gateways ?? [])],
      providers: [...(options.providers ?? [])],
      handlers: { ...(options.handlers ?? {}) },
      static: options.static ?? [],
      channels: options.channels ?? {},
      fallback: metadata.getFallback(cls),
    });
  };
  visit(root, []);
  return loaded;
}
