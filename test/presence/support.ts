// What the presence tests share: peers on test/fixtures/presence.ts's gateway, and reading the
// diffs and lists it relays as who is there.
import type { PresenceDiff, PresenceList } from 'vela';
import type { RelayedDiff } from '../fixtures/presence.js';
import { Peer } from '../pubsub/peer.js';

export const LOBBY = 'room:lobby';

/** A socket on `/presence/lobby`, tracked as `user` (named `name`) when given one. */
export function lobby(app: { url: string }, user?: string, name = user): Promise<Peer> {
  const query = user === undefined ? '' : `?user=${encodeURIComponent(user)}&name=${encodeURIComponent(name!)}`;
  return Peer.connect(app, { path: `/presence/lobby${query}` });
}

/** The next presence_diff `peer` got. */
export async function nextDiff(peer: Peer, timeoutMs?: number): Promise<PresenceDiff> {
  return (await peer.next<RelayedDiff>(timeoutMs)).diff;
}

/**
 * Reads diffs until those seen so far joined every `key: name` of `want` (changes on several nodes
 * may come as one diff or several), and returns them in that form, sorted.
 */
export async function joinsOf(watcher: Peer, want: readonly string[]): Promise<string[]> {
  const joined = new Set<string>();
  while (!want.every((entry) => joined.has(entry))) {
    for (const [key, metas] of Object.entries(names((await nextDiff(watcher)).joins))) for (const name of metas) joined.add(`${key}: ${String(name)}`);
  }
  return [...joined].sort();
}

/** A list as key → the names of its metas, in order: what the page would show. */
export function names(list: PresenceList): Record<string, unknown[]> {
  return Object.fromEntries(Object.entries(list).map(([key, { metas }]) => [key, metas.map((meta) => meta.name)]));
}

/** Every ref of a list. */
export function refs(list: PresenceList): string[] {
  return Object.values(list).flatMap(({ metas }) => metas.map((meta) => meta.ref));
}

export const list = (peer: Peer, channel = LOBBY) => peer.call<PresenceList>('list', { channel });
export const count = (peer: Peer, channel = LOBBY) => peer.call<number>('count', { channel });
