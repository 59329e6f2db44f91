// The shapes presence speaks in, Phoenix.Presence's: a list groups the metas of each key (one meta
// per tracking connection, each with its own `ref`), and a diff is two lists, what joined and what left.

/**
 * What a connection says about itself under a key: a plain JSON object (`{ name, device }`). The
 * generic types take any object type (an `interface UserMeta` too), checked as JSON at the call.
 */
export type PresenceMeta = Record<string, unknown>;

/** One tracking connection's meta as the list shows it: the meta's fields and its unique `ref`. */
export type PresenceEntry<M extends object = PresenceMeta> = M & { readonly ref: string };

/** Who is in a channel: `{ [key]: { metas: [{ ...meta, ref }] } }`, one meta per tracking connection. */
export type PresenceList<M extends object = PresenceMeta> = Record<string, { metas: PresenceEntry<M>[] }>;

/** The payload of a `presence_diff` message: the metas that joined and those that left, as lists. */
export interface PresenceDiff<M extends object = PresenceMeta> {
  readonly joins: PresenceList<M>;
  readonly leaves: PresenceList<M>;
}

/** One stored meta: what a presence store keeps per ref. */
export interface PresenceRow {
  readonly ref: string;
  readonly key: string;
  readonly meta: PresenceMeta;
}

/**
 * Groups rows by key. The objects have no prototype: a key such as `__proto__` stays a plain key
 * (JSON.stringify and the wire treat them as any object).
 */
export function toPresenceList(rows: Iterable<PresenceRow>): PresenceList {
  const list: PresenceList = Object.create(null) as PresenceList;
  for (const { ref, key, meta } of rows) (list[key] ??= { metas: [] }).metas.push({ ...meta, ref });
  return list;
}

/**
 * One diff made of two, `earlier` then `later`: a meta that joined in one and left in the other is
 * in neither (nobody who got the merge heard of it); every other join and leave is kept, once by ref.
 */
export function mergeDiffs(earlier: unknown, later: unknown): PresenceDiff {
  const joins = new Map<string, PresenceRow>();
  const leaves = new Map<string, PresenceRow>();
  for (const diff of [earlier, later] as PresenceDiff[]) {
    for (const row of rowsOf(diff.leaves)) if (!joins.delete(row.ref)) leaves.set(row.ref, row);
    for (const row of rowsOf(diff.joins)) joins.set(row.ref, row);
  }
  return Object.freeze({ joins: toPresenceList(joins.values()), leaves: toPresenceList(leaves.values()) });
}

function* rowsOf(list: PresenceList): Iterable<PresenceRow> {
  for (const key in list) {
    for (const { ref, ...meta } of list[key]!.metas) yield { ref, key, meta };
  }
}
