// What is refused: every way out of the root, run against both ways of serving files (a static
// route and sendfile from a path parameter or the query). The secret next to the root never shows.
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Controller, Module, Route, sendfile, type Context } from 'vela';
import { FIXTURES, PUBLIC, SECRET, rawRequest, symlinkTree } from './support.js';
import { startTestApp } from 'vela/testing';

/** Serves `root` at /assets (static route), /f/:name and /q?path= (sendfile). */
async function serveRoot(root: string) {
  @Controller()
  class FilesController {
    @Route('/f/:name')
    byParam(ctx: Context) {
      return sendfile(ctx.params.name!, { root });
    }

    @Route('/q')
    byQuery(ctx: Context) {
      return sendfile(String(ctx.query.path), { root });
    }
  }
  @Module({ controllers: [FilesController], static: [{ prefix: '/assets', dir: root }] })
  class AppModule {}
  return startTestApp(AppModule);
}

const secretFile = join(FIXTURES, 'secret.txt');

/** Each request path is sent byte for byte; `status` is what both surfaces answer. */
const escapes: { name: string; paths: string[]; status: number }[] = [
  {
    name: '`..` segments',
    paths: ['/assets/../secret.txt', '/assets/docs/../../secret.txt', '/q?path=../secret.txt', '/q?path=docs/../../secret.txt'],
    status: 403,
  },
  {
    name: 'encoded `%2e%2e`',
    paths: ['/assets/%2e%2e/secret.txt', '/assets/%2E%2E/secret.txt', '/assets/docs/%2e%2e/%2e%2e/secret.txt'],
    status: 403,
  },
  {
    name: 'encoded slashes `..%2f` and `..%5c`',
    paths: ['/assets/..%2fsecret.txt', '/assets/%2e%2e%2fsecret.txt', '/assets/..%5csecret.txt', '/f/..%2fsecret.txt', '/f/%2e%2e%2fsecret.txt', '/f/..%5csecret.txt'],
    status: 403,
  },
  {
    name: 'absolute paths, which stay inside the root',
    paths: [`/assets/${secretFile}`, `/assets/${encodeURIComponent(secretFile)}`, `/q?path=${encodeURIComponent(secretFile)}`, `/f/${encodeURIComponent(secretFile)}`],
    status: 404,
  },
  {
    name: 'NUL bytes (400: no file name has one)',
    paths: ['/assets/hello.txt%00', '/assets/..%00/secret.txt', '/f/hello.txt%00.png', '/q?path=hello.txt%00'],
    status: 400,
  },
  {
    name: 'malformed percent-encoding',
    paths: ['/assets/%E0%A4%A'],
    status: 400,
  },
];

describe('paths out of the root', () => {
  for (const { name, paths, status } of escapes) {
    it(`refuses ${name} with ${status}`, async () => {
      const app = await serveRoot(PUBLIC);

      for (const path of paths) {
        const res = await rawRequest(app.url, path);
        expect({ path, status: res.status }).toEqual({ path, status });
        expect(res.body).not.toContain(SECRET);
      }
    });
  }

  it('never double-decodes: `%252e%252e` names a file called `%2e%2e`', async () => {
    const app = await serveRoot(PUBLIC);

    for (const path of ['/assets/%252e%252e/secret.txt', '/f/%252e%252e%252fsecret.txt']) {
      const res = await rawRequest(app.url, path);
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
    }
  });
});

describe('symlinks', () => {
  it('are followed while their target stays inside the root', async () => {
    const { root } = await symlinkTree();
    const app = await serveRoot(root);

    for (const path of ['/assets/link-in.txt', '/f/link-in.txt']) {
      const res = await rawRequest(app.url, path);
      expect({ path, status: res.status, body: res.body }).toEqual({ path, status: 200, body: 'inside the root\n' });
    }
  });

  it('pointing out of the root answer 404, as if absent', async () => {
    const { root } = await symlinkTree();
    const app = await serveRoot(root);

    const paths = [
      '/assets/link-out.txt',
      '/assets/sub/relative-out.txt',
      '/assets/linkdir/secret.txt',
      '/assets/linkdir/',
      '/f/link-out.txt',
      '/q?path=sub/relative-out.txt',
      '/q?path=linkdir/secret.txt',
    ];
    for (const path of paths) {
      const res = await rawRequest(app.url, path);
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
      expect(res.body).toBe('{"error":"Not Found","status":404}');
    }
  });

  it('to a directory out of the root get no redirect that would reveal it', async () => {
    const { root } = await symlinkTree();
    const app = await serveRoot(root);

    const res = await rawRequest(app.url, '/assets/linkdir');
    expect(res.status).toBe(404);
    expect(res.headers.location).toBeUndefined();
  });

  it('are judged by the real root when the root itself is a symlink', async () => {
    const { root } = await symlinkTree();
    const app = await serveRoot(join(root, 'linkdir'));

    const res = await rawRequest(app.url, '/assets/secret.txt');
    expect(res.status).toBe(200);
    expect(res.body).toBe(`${SECRET}\n`);
  });
});

describe('a file that cannot be opened', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  });

  it('answers 500 through the status pages, before any byte is sent', async () => {
    const { root } = await symlinkTree();
    // A Unix socket passes stat() as a non-directory; it is refused before open() (which fails with ENXIO).
    const socket = createServer();
    servers.push(socket);
    await new Promise<void>((resolve) => socket.listen(join(root, 'app.sock'), resolve));
    const app = await serveRoot(root);

    for (const path of ['/assets/app.sock', '/f/app.sock']) {
      const res = await rawRequest(app.url, path);
      expect({ path, status: res.status, body: res.body }).toEqual({ path, status: 500, body: '{"error":"Internal Server Error","status":500}' });
    }
    const failures = app.logs.entries.filter((e) => e.message === 'request failed');
    expect(failures.map((e) => (e.fields.error as Error).message)).toEqual(
      ['/assets', '/f'].map(() => `${join(root, 'app.sock')} is a socket, not a regular file: sendfile and static routes only serve regular files.`),
    );
  });
});
