// `@Module({ channels })`: checked at bootstrap (a ConfigError naming the module, the key and the
// fix), merged across the module tree, the most specific definition winning.
import { describe, expect, it } from 'vitest';
import { Module, memoryPubSub, type ChannelOptions, type PubSubAdapter, type PubSubMessage } from 'vela';
import { startTestApp } from 'vela/testing';
import { bootError } from '../support/boot-error.js';

function appWith(channels: Record<string, unknown>, imported?: Record<string, unknown>) {
  @Module({ channels: (imported ?? {}) as Record<string, ChannelOptions> })
  class RoomsModule {}
  @Module({ imports: [RoomsModule], channels: channels as Record<string, ChannelOptions> })
  class AppModule {}
  return AppModule;
}

describe('@Module({ channels }) at bootstrap', () => {
  it.each([
    [{ comments: { history: { size: 0, ttl: 1_000 } } }, "AppModule.channels['comments'].history.size is 0: give a whole number from 1 to 100 000"],
    [{ comments: { history: { size: 100_001, ttl: 1_000 } } }, 'history.size is 100001'],
    [{ comments: { history: { size: 1.5, ttl: 1_000 } } }, 'history.size is 1.5'],
    [{ comments: { history: { size: 10, ttl: 0 } } }, "AppModule.channels['comments'].history.ttl is 0: give a whole number of milliseconds above 0"],
    [{ comments: { history: { size: 10, ttl: '1s' } } }, "history.ttl is '1s'"],
    [{ comments: { history: { size: 10 } } }, 'history.ttl is undefined'],
    [{ comments: { histroy: { size: 10, ttl: 10 } } }, "has unknown option 'histroy'"],
    [{ 'room:*:x': { history: { size: 10, ttl: 10 } } }, "AppModule.channels['room:*:x']: a channel key is an exact name ('comments') or a prefix ending in one star"],
  ])('refuses %j', async (channels, message) => {
    const error = await bootError(appWith(channels));
    expect(error.message).toContain(message);
  });

  it('refuses a channel defined in two modules, naming both', async () => {
    const history = { history: { size: 10, ttl: 1_000 } };
    const error = await bootError(appWith({ 'room:*': history }, { 'room:*': history }));
    expect(error.message).toBe("AppModule.channels['room:*'] is also defined in RoomsModule.channels: define each channel once, in one module.");
  });

  it('refuses history on an adapter that keeps none', async () => {
    const { history: _none, ...withoutHistory } = memoryPubSub();
    const adapter: PubSubAdapter = { ...withoutHistory, name: 'custom' };
    const error = await bootError(appWith({ comments: { history: { size: 10, ttl: 1_000 } } }), { pubsub: adapter });
    expect(error.message).toContain("the 'custom' pub/sub adapter keeps none");
  });

  it('merges the module tree and applies the most specific definition: exact, then the longest prefix', async () => {
    const adapter = memoryPubSub();
    const app = await startTestApp(
      appWith({ 'room:vip:*': { history: { size: 2, ttl: 60_000 } }, 'room:lobby': {} }, { 'room:*': { history: { size: 200, ttl: 60_000 } } }),
      { pubsub: adapter },
    );
    const channels = ['room:a', 'room:vip:1', 'room:lobby', 'news'];
    const positions = new Map<string, (string | undefined)[]>(channels.map((channel) => [channel, []]));
    for (const channel of channels) app.pubsub.subscribe(channel, (message: PubSubMessage) => void positions.get(channel)!.push(message.position));
    for (const channel of channels) for (let i = 0; i < 4; i += 1) await app.pubsub.broadcast(channel, 't', i);

    expect(positions.get('room:lobby')).toEqual([undefined, undefined, undefined, undefined]); // exact, without history, over 'room:*'
    expect(positions.get('news')).toEqual([undefined, undefined, undefined, undefined]);
    const since = (channel: string, index: number) => adapter.history!.since(channel, positions.get(channel)![index]!, { size: 1, ttl: 1 });
    expect(since('room:a', 0)).toHaveLength(3); // 'room:*' keeps 200
    expect(since('room:vip:1', 0)).toBeUndefined(); // 'room:vip:*', the longer prefix, keeps 2
    expect(since('room:vip:1', 1)).toHaveLength(2);
  });
});
