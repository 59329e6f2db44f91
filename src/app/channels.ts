// `@Module({ channels })`: which channels keep history, merged across the module tree and checked
// at bootstrap. A key is an exact channel name or a prefix pattern (`room:*`, the star only at the
// end); a channel takes the most specific definition: its exact name, else the longest prefix.
import type { ChannelOptions, HistoryOptions } from '../pubsub/history.js';
import { ConfigError, describeValue } from './errors.js';
import type { LoadedModule } from './module.js';

/** Bounds memory (memory) and stream length (Redis) per channel, and one reconnect's replay. */
export const MAX_HISTORY_SIZE = 100_000;

export interface ChannelTable {
  /** Whether any channel keeps history (the pub/sub adapter must then support it). */
  readonly hasHistory: boolean;
  /** The history settings of `channel`, or undefined for an ordinary channel. */
  historyOf(channel: string): HistoryOptions | undefined;
  /**
   * The key `channel` falls under ('comments', 'room:*'), or undefined when none does: what names the
   * channel in span names, few however many channels there are (telemetry/channel-pattern.ts).
   */
  patternOf(channel: string): string | undefined;
}

/** What metrics count a channel that no `@Module({ channels })` key covers under: one series for all of them. */
export const OTHER_CHANNELS = 'other';

/** Throws a ConfigError naming the module, the key and the fix for any bad or repeated definition. */
export function buildChannelTable(modules: readonly Pick<LoadedModule, 'module' | 'channels'>[]): ChannelTable {
  // A definition without history counts too: it makes its channels ordinary over a shorter pattern.
  const exact = new Map<string, HistoryOptions | undefined>();
  const prefixes = new Map<string, HistoryOptions | undefined>();
  const definedIn = new Map<string, string>();
  for (const { module, channels } of modules) {
    for (const [key, options] of Object.entries(channels)) {
      const where = `${module.name}.channels['${key}']`;
      const earlier = definedIn.get(key);
      if (earlier) throw new ConfigError(`${where} is also defined in ${earlier}: define each channel once, in one module.`);
      definedIn.set(key, `${module.name}.channels`);
      const history = checkOptions(where, options);
      if (key.endsWith('*')) prefixes.set(checkPattern(where, key).slice(0, -1), history);
      else exact.set(checkPattern(where, key), history);
    }
  }
  // Longest first: the first prefix that matches is the most specific.
  const byLength = [...prefixes].sort(([a], [b]) => b.length - a.length);
  return {
    hasHistory: [...exact.values(), ...prefixes.values()].some((history) => history !== undefined),
    historyOf(channel) {
      if (byLength.length === 0 || exact.has(channel)) return exact.get(channel);
      for (const [prefix, history] of byLength) if (channel.startsWith(prefix)) return history;
      return undefined;
    },
    patternOf(channel) {
      if (exact.has(channel)) return channel;
      for (const [prefix] of byLength) if (channel.startsWith(prefix)) return `${prefix}*`;
      return undefined;
    },
  };
}

function checkPattern(where: string, key: string): string {
  const star = key.indexOf('*');
  if (key === '' || (star !== -1 && star < key.length - 1)) {
    throw new ConfigError(`${where}: a channel key is an exact name ('comments') or a prefix ending in one star ('room:*'); the star may only end it.`);
  }
  return key;
}

function checkOptions(where: string, options: ChannelOptions): HistoryOptions | undefined {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError(`${where} is ${describeValue(options)}: give { history: { size, ttl } }.`);
  }
  const unknown = Object.keys(options).filter((name) => name !== 'history');
  if (unknown.length > 0) throw new ConfigError(`${where} has unknown option '${unknown[0]}': the only one is history: { size, ttl }.`);
  const { history } = options;
  if (history === undefined) return undefined;
  if (typeof history !== 'object' || history === null) {
    throw new ConfigError(`${where}.history is ${describeValue(history)}: give { size, ttl }, e.g. { size: 1_000, ttl: 120_000 }.`);
  }
  const extra = Object.keys(history).filter((name) => name !== 'size' && name !== 'ttl');
  if (extra.length > 0) throw new ConfigError(`${where}.history has unknown option '${extra[0]}': it takes size and ttl.`);
  const { size, ttl } = history;
  if (!Number.isInteger(size) || size < 1 || size > MAX_HISTORY_SIZE) {
    throw new ConfigError(`${where}.history.size is ${describeValue(size)}: give a whole number from 1 to 100 000, the messages the channel keeps.`);
  }
  if (!Number.isSafeInteger(ttl) || ttl <= 0) {
    throw new ConfigError(`${where}.history.ttl is ${describeValue(ttl)}: give a whole number of milliseconds above 0, how long a message is kept.`);
  }
  return Object.freeze({ size, ttl });
}
