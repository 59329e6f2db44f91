// RFC 9110's `token`: what a header name (and a cookie name, RFC 6265) may be made of. Anything else
// makes Node throw when the header is set, so names from options and thrown errors are checked here,
// with Node's own validators rather than a copy of their rules.
import { validateHeaderName, validateHeaderValue } from 'node:http';

export function isToken(name: string): boolean {
  return passes(() => validateHeaderName(name));
}

/** A header Node would send: a token for a name, and a value without CR, LF or other control characters. */
export function isSendableHeader(name: string, value: string): boolean {
  return passes(() => {
    validateHeaderName(name);
    validateHeaderValue(name, value);
  });
}

function passes(check: () => void): boolean {
  try {
    check();
    return true;
  } catch {
    return false;
  }
}
