// Session ids as the cookie carries them: `<id>.<HMAC-SHA256(secret, id)>`. The signature lets any
// node trust an id without asking the store, so a client can hold a session id that costs nothing
// until something is written to it, and a forged or altered id is still never accepted.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ConfigError } from '../app/errors.js';

/** 24 random bytes: 192 bits, exactly 32 base64url characters with no padding. */
const ID_BYTES = 24;
/** A cookie value as signIds() makes it: the 32-character id, a dot, 43 characters of signature. */
const SIGNED_SHAPE = /^[A-Za-z0-9_-]{32}\.[A-Za-z0-9_-]{43}$/;
/** Shorter secrets are guessable offline from one signed cookie. */
const MIN_SECRET_LENGTH = 32;

/** A secret, or several: the first signs, every one is accepted (rotation: put the new one first). */
export type SessionSecret = string | readonly string[];

export interface VerifiedId {
  id: string;
  /** Signed with the first (current) secret; false when an older one in the list signed it. */
  current: boolean;
}

export interface SignedIds {
  /** The cookie value for `id`, signed with the current secret. */
  sign(id: string): string;
  /** The id inside a cookie value, if one of the secrets signed it exactly so; undefined otherwise. */
  verify(value: string): VerifiedId | undefined;
}

/** A new random session id. */
export function newSessionId(): string {
  return randomBytes(ID_BYTES).toString('base64url');
}

/** A fresh random secret, for a store that makes its own (per process, or once for a shared store). */
export function randomSecret(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Signing and checking with `secret`. `source` names where the secret came from, for the
 * ConfigError a bad one gets (e.g. "bootstrap({ sessions: { secret } })").
 */
export function signedIds(secret: SessionSecret, source: string): SignedIds {
  const secrets = typeof secret === 'string' ? [secret] : secret;
  if (!Array.isArray(secrets) || secrets.length === 0 || !secrets.every((one) => typeof one === 'string' && one.length >= MIN_SECRET_LENGTH)) {
    throw new ConfigError(
      `${source}: a session secret is a string of ${MIN_SECRET_LENGTH} characters or more (or a non-empty list of them, newest first), ` +
        `e.g. process.env.SESSION_SECRET made with \`openssl rand -base64 32\`.`,
    );
  }
  const signature = (key: string, id: string) => createHmac('sha256', key).update(id).digest('base64url');
  return {
    sign: (id) => `${id}.${signature(secrets[0]!, id)}`,
    verify(value) {
      if (!SIGNED_SHAPE.test(value)) return undefined;
      const id = value.slice(0, 32);
      const presented = Buffer.from(value.slice(33));
      // Compared as text, not as decoded bytes: base64url's last character has spare bits, and an
      // altered one must not decode to the same signature.
      const index = secrets.findIndex((key) => timingSafeEqual(presented, Buffer.from(signature(key, id))));
      return index === -1 ? undefined : { id, current: index === 0 };
    },
  };
}
