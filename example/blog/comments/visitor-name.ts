// The name a live page's visitor goes by, from `?name=` on its socket's URL: the chat shows it on
// their lines, the comments page's "here now" list keys them by it. Trimmed and bounded, so a
// visitor cannot fill the others' pages with one long name.
import type { Connection } from 'vela';

export const MAX_NAME_LENGTH = 40;

/** `?name=` trimmed to at most MAX_NAME_LENGTH characters, or `fallback` when it is missing or blank. */
export function visitorName(conn: Connection, fallback: string): string {
  const name = conn.request.query.name;
  return typeof name === 'string' && name.trim() ? name.trim().slice(0, MAX_NAME_LENGTH) : fallback;
}
