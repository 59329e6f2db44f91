// Recovery, the client's half. Frames a gateway sends for a message of a channel with history come
// after a marker, `vela:at {"channel","position","frames":N}`: the client holds those N frames until
// all arrived, hands them to the app together, then keeps the position as the channel's last. A
// reconnect presents the positions (`vela_pos` in the URL) and the server replays what was missed,
// after a `vela:recover {"channel","recovered","missed"}` frame. A link cut inside a marked group
// drops the part received: the replay brings the whole group again, so the app sees it once.

export const MARKER_PREFIX = 'vela:at ';
export const RECOVER_PREFIX = 'vela:recover ';
/** Channels whose positions a reconnect presents, at most (the server accepts no more): the most recent. */
const MAX_CHANNELS = 100;

export interface RecoverInfo {
  channel: string;
  /** True when every missed message was replayed; false when the history could not cover the gap (reload the state). */
  recovered: boolean;
  /** Messages replayed. */
  missed: number;
}

interface Group {
  channel: string;
  position: string;
  expected: number;
  frames: unknown[];
}

export class ChannelPositions {
  /** Channel → last position, least recently updated first. */
  readonly #last = new Map<string, string>();
  #group: Group | undefined;

  /** The value of `vela_pos` for the next connection, or undefined when there is nothing to recover. */
  query(): string | undefined {
    return this.#last.size === 0 ? undefined : JSON.stringify(Object.fromEntries(this.#last));
  }

  /** Starts a marked group from a `vela:at` frame's JSON; false when it is not a valid marker. */
  mark(json: string): boolean {
    const marker = parse(json) as { channel?: unknown; position?: unknown; frames?: unknown } | undefined;
    if (typeof marker?.channel !== 'string' || typeof marker.position !== 'string' || !Number.isInteger(marker.frames) || (marker.frames as number) < 1) {
      return false;
    }
    this.#group = { channel: marker.channel, position: marker.position, expected: marker.frames as number, frames: [] };
    return true;
  }

  /**
   * A frame arrived: undefined when it is not part of a group (deliver it now), else the group's
   * frames once it is complete (deliver them all), or an empty list while it is not.
   */
  hold(frame: unknown): unknown[] | undefined {
    const group = this.#group;
    if (!group) return undefined;
    group.frames.push(frame);
    if (group.frames.length < group.expected) return [];
    this.#group = undefined;
    this.#last.delete(group.channel);
    this.#last.set(group.channel, group.position);
    if (this.#last.size > MAX_CHANNELS) this.#last.delete(this.#last.keys().next().value!);
    return group.frames;
  }

  /** The link went: a group cut short is dropped, to come again whole in the replay. */
  linkLost(): void {
    this.#group = undefined;
  }
}

/** The `recover` event's value from a `vela:recover` frame's JSON, or undefined when malformed. */
export function recoverInfo(json: string): RecoverInfo | undefined {
  const info = parse(json) as Partial<RecoverInfo> | undefined;
  if (typeof info?.channel !== 'string' || typeof info.recovered !== 'boolean') return undefined;
  return { channel: info.channel, recovered: info.recovered, missed: typeof info.missed === 'number' ? info.missed : 0 };
}

function parse(json: string): unknown {
  try {
    return JSON.parse(json);
  } catch {
    return undefined;
  }
}
