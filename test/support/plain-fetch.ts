// fetch against an app without app.http's cookie jar, for tests that send (or withhold) the
// session cookie themselves and assert what the server does with it.

/** `fetch(app.url + path, init)`: no jar, redirects followed as fetch does. */
export function plainFetch(app: { url: string }, path: string, init?: RequestInit): Promise<Response> {
  return fetch(app.url + path, init);
}
