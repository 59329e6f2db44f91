// Shared by the file tests: the fixture paths, a request that sends its path byte for byte, and a
// throwaway directory with symlinks pointing in and out of its root.
import { request, type IncomingHttpHeaders } from 'node:http';
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';

export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
/** The served directory: hello.txt (14 bytes), index.html, docs/index.html, app.css, 404.html, .env, .hidden/. */
export const PUBLIC = join(FIXTURES, 'public');
/** Content of fixtures/secret.txt, next to public/: it must never appear in a response. */
export const SECRET = 'TOP-SECRET-OUTSIDE-ROOT';
export const HELLO = 'Hello, world!\n';

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A request whose path is sent exactly as written; fetch() would resolve `..` and `%2e%2e` first. */
export function rawRequest(baseUrl: string, path: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<RawResponse> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method: options.method ?? 'GET', headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const temporary: string[] = [];

afterEach(async () => {
  await Promise.all(temporary.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

export interface SymlinkTree {
  /** Serve this: inside.txt, link-in.txt → inside.txt, link-out.txt → outside/secret.txt, linkdir → outside/, sub/. */
  root: string;
  /** Not served: secret.txt (SECRET), index.html. */
  outside: string;
}

/** A fresh temporary tree, removed after the test. */
export async function symlinkTree(): Promise<SymlinkTree> {
  const base = await realpath(await mkdtemp(join(tmpdir(), 'vela-files-')));
  temporary.push(base);
  const root = join(base, 'root');
  const outside = join(base, 'outside');
  await mkdir(join(root, 'sub'), { recursive: true });
  await mkdir(outside);
  await writeFile(join(root, 'inside.txt'), 'inside the root\n');
  await writeFile(join(outside, 'secret.txt'), `${SECRET}\n`);
  await writeFile(join(outside, 'index.html'), `<h1>${SECRET}</h1>\n`);
  await symlink(join(root, 'inside.txt'), join(root, 'link-in.txt'));
  await symlink(join(outside, 'secret.txt'), join(root, 'link-out.txt'));
  await symlink('../../outside/secret.txt', join(root, 'sub', 'relative-out.txt'));
  await symlink(outside, join(root, 'linkdir'), 'dir');
  return { root, outside };
}
