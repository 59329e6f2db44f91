// The cookie jar behind app.http and app.ws: RFC 6265's Path matching and expiry, for one origin.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CookieJar } from '../../src/testing/cookie-jar.js';

const at = (path: string) => new URL(`http://127.0.0.1:8080${path}`);

function jarWith(...setCookies: string[]) {
  const jar = new CookieJar();
  jar.store(setCookies, at('/login'));
  return jar;
}

afterEach(() => vi.useRealTimers());

describe('CookieJar', () => {
  it('sends name=value pairs, longest path first', () => {
    const jar = jarWith('a=1; Path=/', 'b=2; Path=/docs; HttpOnly; SameSite=Lax');
    expect(jar.header(at('/docs/x'))).toBe('b=2; a=1');
    expect(jar.header(at('/'))).toBe('a=1');
  });

  it('matches paths as RFC 6265 does: /docs covers /docs and /docs/x, not /docsx', () => {
    const jar = jarWith('a=1; Path=/docs');
    expect(jar.header(at('/docs'))).toBe('a=1');
    expect(jar.header(at('/docs/x'))).toBe('a=1');
    expect(jar.header(at('/docsx'))).toBeUndefined();
  });

  it('defaults the path to the directory of the request', () => {
    const jar = new CookieJar();
    jar.store(['a=1'], at('/account/login'));
    expect(jar.header(at('/account/settings'))).toBe('a=1');
    expect(jar.header(at('/other'))).toBeUndefined();
  });

  it('replaces a cookie of the same name and path, and keeps one of another path', () => {
    const jar = jarWith('a=1; Path=/', 'a=2; Path=/', 'a=3; Path=/x');
    expect(jar.header(at('/x'))).toBe('a=3; a=2');
  });

  it('deletes a cookie with Max-Age=0 or an Expires in the past', () => {
    const jar = jarWith('a=1; Path=/', 'b=2; Path=/');
    jar.store(['a=; Path=/; Max-Age=0', 'b=; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT'], at('/'));
    expect(jar.header(at('/'))).toBeUndefined();
  });

  it('lets Max-Age win over Expires, and forgets a cookie once it expires', () => {
    vi.useFakeTimers({ now: new Date('2030-01-01T00:00:00Z') });
    const jar = jarWith('a=1; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=60', 'b=2; Path=/; Expires=Tue, 01 Jan 2030 00:00:30 GMT');
    expect(jar.header(at('/'))).toBe('a=1; b=2');
    vi.advanceTimersByTime(30_000);
    expect(jar.header(at('/'))).toBe('a=1');
    vi.advanceTimersByTime(30_000);
    expect(jar.get('a')).toBeUndefined();
  });

  it('ignores a Set-Cookie without a name', () => {
    expect(jarWith('novalue', '=x').header(at('/'))).toBeUndefined();
  });
});
