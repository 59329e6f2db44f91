// What `vela/client` tells a gateway about itself when it (re)connects, in two reserved query
// parameters of the upgrade URL: `vela_client`, an id the client keeps for its page's life (repeated
// requests are answered from memory by it), and `vela_pos`, the position of the last history message
// it received on each channel (a reconnect replays what it missed). They are read at the upgrade,
// before `init` joins any channel, and taken out of `conn.request.query`, which stays the app's.
import { HttpError } from '../http/http-error.js';

export const CLIENT_PARAM = 'vela_client';
export const POSITIONS_PARAM = 'vela_pos';

/** A client id: 8 to 64 url-safe characters (vela/client sends a random UUID). */
const CLIENT_ID = /^[A-Za-z0-9_-]{8,64}$/;
/** Most channels one reconnect may resume, and the longest channel name and position it may name. */
export const MAX_RESUMED_CHANNELS = 100;
const MAX_CHANNEL_LENGTH = 200;
const MAX_POSITION_LENGTH = 100;

export interface ClientResume {
  clientId: string | undefined;
  /** Channel → the position of the last message the client got there. */
  positions: ReadonlyMap<string, string> | undefined;
}

const NOTHING: ClientResume = Object.freeze({ clientId: undefined, positions: undefined });

/**
 * Reads the reserved parameters from an upgrade's query. Throws a 400 HttpError naming what is wrong
 * (a client sends them only through vela/client, so a malformed one is a bug or a forgery).
 */
export function readClientResume(query: Readonly<Record<string, string | string[] | undefined>>): ClientResume {
  const client = query[CLIENT_PARAM];
  const positions = query[POSITIONS_PARAM];
  if (client === undefined && positions === undefined) return NOTHING;
  if (client !== undefined && (typeof client !== 'string' || !CLIENT_ID.test(client))) {
    throw new HttpError(400, `${CLIENT_PARAM} must be one id of 8 to 64 characters A-Z a-z 0-9 _ - (vela/client sends a random UUID).`);
  }
  return { clientId: client, positions: positions === undefined ? undefined : parsePositions(positions) };
}

/** The query without the reserved parameters: what `conn.request.query` shows the app. */
export function withoutResume<T extends Readonly<Record<string, unknown>>>(query: T): T {
  if (!(CLIENT_PARAM in query) && !(POSITIONS_PARAM in query)) return query;
  const { [CLIENT_PARAM]: _client, [POSITIONS_PARAM]: _positions, ...rest } = query;
  return rest as T;
}

function parsePositions(raw: string | string[]): ReadonlyMap<string, string> {
  const refuse = (why: string): never => {
    throw new HttpError(400, `${POSITIONS_PARAM} ${why}: it is a JSON object of channel → position, as vela/client sends it.`);
  };
  if (typeof raw !== 'string') return refuse('is given more than once');
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return refuse('is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return refuse('is not an object');
  const entries = Object.entries(value);
  if (entries.length > MAX_RESUMED_CHANNELS) return refuse(`names more than ${MAX_RESUMED_CHANNELS} channels`);
  const positions = new Map<string, string>();
  for (const [channel, position] of entries) {
    if (channel === '' || channel.length > MAX_CHANNEL_LENGTH) refuse(`has a channel name that is empty or longer than ${MAX_CHANNEL_LENGTH}`);
    if (typeof position !== 'string' || position === '' || position.length > MAX_POSITION_LENGTH) {
      refuse(`has a position that is not a string of 1 to ${MAX_POSITION_LENGTH} characters (channel '${channel}')`);
    }
    positions.set(channel, position as string);
  }
  return positions;
}
