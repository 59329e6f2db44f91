// RFC 9110's `token`: what a header name (and a cookie name, RFC 6265) may be made of. Anything else
// makes Node throw when the header is set, so names from options and thrown errors are checked here.

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export function isToken(name: string): boolean {
  return TOKEN.test(name);
}
