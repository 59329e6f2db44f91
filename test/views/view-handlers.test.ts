// The `ok` and `view` results: default view names, options, escaping, missing templates, caching,
// refused names, custom engines and the csrf_token variable, on real servers.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ConfigError,
  Controller,
  HttpError,
  Module,
  Route,
  ok,
  view,
  type BootstrapOptions,
  type Class,
  type Context,
  type Middleware,
  type ResultHandler,
  type ViewEngine,
} from 'vela';
import { defaultViewName } from '../../src/views/view-handlers.js';
import { startTestApp } from 'vela/testing';

/** Relative on purpose: the views dir resolves against the working directory, as `views/` does for apps. */
const FIXTURES = 'test/views/fixtures/views';
const FIXTURES_ABS = resolve(FIXTURES);
const HTML = { accept: 'text/html' };
const JSON_ACCEPT = { accept: 'application/json' };

let savedEnv: string | undefined;
afterEach(() => {
  if (savedEnv === undefined) delete process.env.NODE_ENV;
  else process.env.NODE_ENV = savedEnv;
});

/** Boots with NODE_ENV set for the bootstrap, which is when Vela reads it. */
async function startIn(env: string, root: Class, options: BootstrapOptions = {}) {
  savedEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = env;
  try {
    return await startTestApp(root, { views: { dir: FIXTURES }, ...options });
  } finally {
    if (savedEnv === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = savedEnv;
  }
}

function moduleOf(...controllers: Class[]): Class {
  @Module({ controllers })
  class AppModule {}
  return AppModule;
}

describe('#ok', () => {
  it('renders the default view <controller>/<method> as HTML with status 200', async () => {
    @Controller()
    class UsersController {
      @Route('/users/:id')
      show(ctx: Context) {
        return ok({ user: { name: `Ada ${ctx.params.id}` } });
      }
    }
    const app = await startIn('production', moduleOf(UsersController));

    const res = await app.http.fetch('/users/1');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await res.text()).toBe('<h1>Ada 1</h1>\n');
  });

  it('names the folder in kebab-case, and ignores the controller prefix', async () => {
    @Controller({ prefix: '/blog' })
    class BlogPostsController {
      @Route('/posts/:id')
      show() {
        return ok({ title: 'Hello Nova' });
      }
    }
    const app = await startIn('production', moduleOf(BlogPostsController));

    const res = await app.http.fetch('/blog/posts/1');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('<article>Hello Nova</article>\n');
  });

  it('renders the view named by { view } instead', async () => {
    @Controller()
    class HomeController {
      @Route('/')
      index() {
        return ok({ posts: ['one', 'two'] }, { view: 'posts/list' });
      }
    }
    const app = await startIn('production', moduleOf(HomeController));

    const res = await app.http.fetch('/');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('<ul><li>one</li><li>two</li></ul>\n');
  });

  it('answers 200 for a POST, and takes status and headers', async () => {
    @Controller()
    class PostsController {
      @Route('/posts', { methods: ['post'] })
      create(ctx: Context) {
        const { invalid } = ctx.request.body as { invalid?: boolean };
        const vars = { posts: ['draft'] };
        return invalid
          ? ok(vars, { view: 'posts/list', status: 422, headers: { 'X-Form': 'invalid', 'Cache-Control': 'no-store' } })
          : ok(vars, { view: 'posts/list' });
      }
    }
    const app = await startIn('production', moduleOf(PostsController));
    const post = (body: unknown) =>
      app.http.fetch('/posts', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

    const plain = await post({});
    expect(plain.status).toBe(200);
    expect(await plain.text()).toBe('<ul><li>draft</li></ul>\n');

    const invalid = await post({ invalid: true });
    expect(invalid.status).toBe(422);
    expect(invalid.headers.get('x-form')).toBe('invalid');
    expect(invalid.headers.get('cache-control')).toBe('no-store');
    expect(invalid.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await invalid.text()).toBe('<ul><li>draft</li></ul>\n');
  });

  it('works the same as the tuple literal', async () => {
    @Controller()
    class UsersController {
      @Route('/users/:id')
      show() {
        return ['ok', { user: { name: 'Grace' } }];
      }
    }
    const app = await startIn('production', moduleOf(UsersController));

    expect(await (await app.http.fetch('/users/1')).text()).toBe('<h1>Grace</h1>\n');
  });

  it('renders from a status route, with the status it renders', async () => {
    @Controller()
    class SiteController {
      @Route(404)
      notFound(ctx: Context) {
        return ok({ path: ctx.path });
      }
    }
    const app = await startIn('production', moduleOf(SiteController));

    const res = await app.http.fetch('/nowhere', { headers: HTML });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await res.text()).toBe('<h1>Nothing at /nowhere</h1>\n');
  });

  it('names the status route, not the route that took the request', async () => {
    @Controller()
    class SiteController {
      @Route('/gone')
      gone() {
        throw new HttpError(404);
      }

      @Route(404)
      notFound(ctx: Context) {
        return ok({ path: ctx.path });
      }
    }
    const app = await startIn('production', moduleOf(SiteController));

    const res = await app.http.fetch('/gone');
    expect(res.status).toBe(404);
    expect(await res.text()).toBe('<h1>Nothing at /gone</h1>\n');
  });
});

describe('defaultViewName', () => {
  it.each([
    ['UsersController', 'show', 'users/show'],
    ['BlogPostsController', 'showAll', 'blog-posts/showAll'],
    ['HTMLPagesController', 'index', 'html-pages/index'],
    ['V2ApiController', 'index', 'v2-api/index'],
    ['Admin', 'index', 'admin/index'],
    ['Controller', 'index', 'controller/index'],
  ])('%s.%s renders %s', (className, handlerName, expected) => {
    const controller = { [className]: class {} }[className]!;
    expect(defaultViewName(controller, handlerName)).toBe(expected);
  });
});

describe('template variables', () => {
  it('must be an object', async () => {
    @Controller()
    class UsersController {
      @Route('/users/:id')
      show() {
        return ['ok', 'Ada'];
      }
    }
    const app = await startIn('development', moduleOf(UsersController));

    const res = await app.http.fetch('/users/1', { headers: JSON_ACCEPT });
    expect(res.status).toBe(500);
    expect(((await res.json()) as { error: string }).error).toBe(
      "UsersController.show returned ok() with template variables 'Ada'; pass an object such as { user }.",
    );
  });
});

describe('#view', () => {
  it('renders the named template', async () => {
    @Controller()
    class HomeController {
      @Route('/')
      index() {
        return view('posts/list', { posts: ['a'] });
      }
    }
    const app = await startIn('production', moduleOf(HomeController));

    const res = await app.http.fetch('/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await res.text()).toBe('<ul><li>a</li></ul>\n');
  });

  it('takes status and headers; a Content-Type header replaces text/html', async () => {
    @Controller()
    class HomeController {
      @Route('/gone')
      gone() {
        return view('posts/list', { posts: [] }, { status: 410, headers: { 'X-Gone': 'yes' } });
      }

      @Route('/list.txt')
      text() {
        return view('posts/list', { posts: ['a'] }, { headers: { 'Content-Type': 'text/plain; charset=utf-8' } });
      }
    }
    const app = await startIn('production', moduleOf(HomeController));

    const gone = await app.http.fetch('/gone');
    expect(gone.status).toBe(410);
    expect(gone.headers.get('x-gone')).toBe('yes');
    expect(await gone.text()).toBe('<ul></ul>\n');

    const text = await app.http.fetch('/list.txt');
    expect(text.headers.get('content-type')).toBe('text/plain; charset=utf-8');
  });

  it('renders partials from the views dir', async () => {
    @Controller()
    class PagesController {
      @Route('/')
      index() {
        return view('pages/with-footer', { body: 'hi', year: 2025 });
      }
    }
    const app = await startIn('production', moduleOf(PagesController));

    expect(await (await app.http.fetch('/')).text()).toBe('<main>hi</main><footer>(c) 2025</footer>\n');
  });
});

describe('escaping', () => {
  it('escapes variables, and lets | raw through', async () => {
    @Controller()
    class PagesController {
      @Route('/')
      index() {
        return view('pages/escape', { text: '<script>alert("x" & \'y\')</script>' });
      }
    }
    const app = await startIn('production', moduleOf(PagesController));

    expect(await (await app.http.fetch('/')).text()).toBe(
      '<p>&lt;script&gt;alert(&#34;x&#34; &amp; &#39;y&#39;)&lt;/script&gt;</p>' +
        '<div><script>alert("x" & \'y\')</script></div>\n',
    );
  });
});

describe('missing templates', () => {
  @Controller()
  class UsersController {
    @Route('/users/:id/edit')
    edit() {
      return ok({});
    }

    @Route('/users/:id/card')
    card() {
      return view('users/card', {});
    }
  }
  const file = join(FIXTURES_ABS, 'users', 'edit.liquid');
  const message =
    `View "users/edit" not found: no template at ${file}. UsersController.edit returned ok(), which renders the view ` +
    `named after its controller and method; create that template, or name another view with ok(vars, { view: 'folder/name' }).`;

  it('answers a plain 500 in production, and logs the file looked for', async () => {
    const app = await startIn('production', moduleOf(UsersController));

    const html = await app.http.fetch('/users/1/edit', { headers: HTML });
    expect(html.status).toBe(500);
    expect(await html.text()).toBe(
      '<!doctype html><html><head><meta charset="utf-8"><title>500 Internal Server Error</title></head>' +
        '<body><h1>500 Internal Server Error</h1><p>Internal Server Error</p></body></html>',
    );
    const json = await app.http.fetch('/users/1/edit', { headers: JSON_ACCEPT });
    expect(await json.json()).toEqual({ error: 'Internal Server Error', status: 500 });

    const failures = app.logs.entries.filter((e) => e.level === 'error');
    expect(failures).toHaveLength(2);
    expect(failures[0]!.message).toBe('request failed');
    expect(failures[0]!.fields.controller).toBe('UsersController.edit');
    expect((failures[0]!.fields.error as Error).message).toBe(message);
  });

  it('names the file looked for in development', async () => {
    const app = await startIn('development', moduleOf(UsersController));

    const res = await app.http.fetch('/users/1/edit', { headers: JSON_ACCEPT });
    expect(res.status).toBe(500);
    const body = (await res.json()) as { error: string };
    expect(body.error).toBe(message);

    const card = await app.http.fetch('/users/1/card', { headers: JSON_ACCEPT });
    expect(((await card.json()) as { error: string }).error).toBe(
      `View "users/card" not found: no template at ${join(FIXTURES_ABS, 'users', 'card.liquid')}. ` +
        `UsersController.card returned view("users/card"); create that template or correct the view name.`,
    );
  });

  it('falls back to the plain page when a status route renders a missing template', async () => {
    @Controller()
    class SiteController {
      @Route(403)
      forbidden() {
        return ok({});
      }

      @Route('/admin')
      admin() {
        throw new HttpError(403, 'not yours');
      }
    }
    const app = await startIn('production', moduleOf(SiteController));

    const res = await app.http.fetch('/admin', { headers: JSON_ACCEPT });
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ error: 'not yours', status: 403 });
    const failure = app.logs.entries.find((e) => e.message === 'status route failed')!;
    expect(failure.fields.controller).toBe('SiteController.forbidden');
    expect((failure.fields.error as Error).message).toContain(`no template at ${join(FIXTURES_ABS, 'site', 'forbidden.liquid')}.`);
  });

  it('lets an app without a views dir boot, and names the dir in the error', async () => {
    const dir = join(tmpdir(), 'vela-no-such-views-dir');
    const app = await startIn('development', moduleOf(UsersController), { views: { dir } });

    const res = await app.http.fetch('/users/1/edit', { headers: JSON_ACCEPT });
    expect(res.status).toBe(500);
    expect(((await res.json()) as { error: string }).error).toContain(`no template at ${join(dir, 'users', 'edit.liquid')}.`);
  });
});

describe('caching', () => {
  let dir: string;
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  @Controller()
  class NotesController {
    @Route('/')
    index() {
      return ok({ n: 1 });
    }
  }

  async function renderTwice(env: string): Promise<[string, string]> {
    dir = await mkdtemp(join(tmpdir(), 'vela-views-'));
    await mkdir(join(dir, 'notes'));
    await writeFile(join(dir, 'notes', 'index.liquid'), 'first {{ n }}');
    const app = await startIn(env, moduleOf(NotesController), { views: { dir } });
    const first = await (await app.http.fetch('/')).text();
    await writeFile(join(dir, 'notes', 'index.liquid'), 'second {{ n }}');
    return [first, await (await app.http.fetch('/')).text()];
  }

  it('keeps compiled templates in production', async () => {
    expect(await renderTwice('production')).toEqual(['first 1', 'first 1']);
  });

  it('reads templates again in development', async () => {
    expect(await renderTwice('development')).toEqual(['first 1', 'second 1']);
  });
});

describe('view names', () => {
  @Controller()
  class PagesController {
    @Route('/view')
    byView(ctx: Context) {
      return view(String(ctx.query.name), {});
    }

    @Route('/ok')
    byOk(ctx: Context) {
      return ok({}, { view: String(ctx.query.name) });
    }
  }

  it.each([
    ['../secret', 'a view name must not contain ".." segments'],
    ['pages/../../secret', 'a view name must not contain ".." segments'],
    ['..\\secret', 'a view name must not contain ".." segments'],
    [`${FIXTURES_ABS}/../secret`, 'a view name must be relative to the views directory, not absolute'],
    ['/etc/passwd', 'a view name must be relative to the views directory, not absolute'],
    ['users/show\0', 'a view name must not contain NUL'],
  ])('refuses %j and never reads it', async (name, reason) => {
    const app = await startIn('development', moduleOf(PagesController));

    const res = await app.http.fetch(`/view?name=${encodeURIComponent(name)}`, { headers: JSON_ACCEPT });
    expect(res.status).toBe(500);
    const body = (await res.json()) as { error: string };
    expect(body.error).toBe(
      `PagesController.byView returned view(${JSON.stringify(name)}) with view name ${JSON.stringify(name)}, which is refused: ${reason}.`,
    );
    expect(JSON.stringify(body)).not.toContain('SECRET');

    const viaOk = await app.http.fetch(`/ok?name=${encodeURIComponent(name)}`, { headers: JSON_ACCEPT });
    expect(viaOk.status).toBe(500);
    expect(((await viaOk.json()) as { error: string }).error).toContain(`which is refused: ${reason}.`);
  });

  it('refuses them before any engine sees them', async () => {
    const asked: string[] = [];
    const engine: ViewEngine = {
      render: async (name) => {
        asked.push(name);
        return name;
      },
    };
    const app = await startIn('production', moduleOf(PagesController), { views: { engine } });

    for (const name of ['../secret', '/etc/passwd', 'a\0b', 'ok/../../x']) {
      expect((await app.http.fetch(`/view?name=${encodeURIComponent(name)}`)).status).toBe(500);
      expect((await app.http.fetch(`/ok?name=${encodeURIComponent(name)}`)).status).toBe(500);
    }
    expect(await (await app.http.fetch('/view?name=pages/fine')).text()).toBe('pages/fine');
    expect(asked).toEqual(['pages/fine']);
  });

  it('refuses them with a plain 500 in production', async () => {
    const app = await startIn('production', moduleOf(PagesController));

    const res = await app.http.fetch('/view?name=../secret', { headers: JSON_ACCEPT });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: 'Internal Server Error', status: 500 });
  });
});

describe('bootstrap({ views: { engine } })', () => {
  const echo: ViewEngine = { render: async (name, vars) => `${name} ${JSON.stringify(vars)}` };

  @Controller()
  class UsersController {
    @Route('/users/:id')
    show(ctx: Context) {
      return ok({ id: ctx.params.id });
    }
  }

  it('renders with that engine', async () => {
    const app = await startIn('production', moduleOf(UsersController), { views: { engine: echo } });

    const res = await app.http.fetch('/users/7');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await res.text()).toBe('users/show {"id":"7"}');
  });

  it('fails bootstrap for an engine without render', async () => {
    const failure = startIn('production', moduleOf(UsersController), { views: { engine: {} as ViewEngine } });
    await expect(failure).rejects.toBeInstanceOf(ConfigError);
    await expect(failure).rejects.toThrow('bootstrap views.engine must be an object with render(name, vars) returning Promise<string>, got {}.');
  });

  it('fails bootstrap when dir or extension come with an engine', async () => {
    const failure = startIn('production', moduleOf(UsersController), { views: { engine: echo, dir: 'templates' } });
    await expect(failure).rejects.toThrow(
      'bootstrap views: dir and extension configure the default LiquidJS engine and are unused with views.engine; pass them to your engine instead.',
    );
  });

  it("keeps the tags 'ok' and 'view' for Vela", async () => {
    const mine: ResultHandler = () => {};
    @Module({ handlers: { ok: mine } })
    class AppModule {}

    await expect(startIn('production', AppModule)).rejects.toThrow(
      "AppModule.handlers: result tag 'ok' is already registered by Vela (built-in). Pick another tag; handlers are never replaced.",
    );
  });
});

describe('csrf_token', () => {
  const withToken: Middleware = async (ctx, next) => {
    if (ctx.get('x-token')) ctx.state.csrfToken = ctx.get('x-token');
    await next();
  };

  @Controller()
  class FormsController {
    @Route('/forms/new')
    new() {
      return ok({});
    }
  }

  it('is given to every template when ctx.state.csrfToken is set', async () => {
    const app = await startIn('production', moduleOf(FormsController), { middleware: [withToken] });

    const res = await app.http.fetch('/forms/new', { headers: { 'x-token': 'tok-123' } });
    expect(await res.text()).toBe('<form><input type="hidden" name="_csrf" value="tok-123"></form>\n');
  });

  it('is absent otherwise', async () => {
    const seen: Record<string, unknown>[] = [];
    const engine: ViewEngine = {
      render: async (_name, vars) => {
        seen.push(vars);
        return '';
      },
    };
    const app = await startIn('production', moduleOf(FormsController), { middleware: [withToken], views: { engine } });

    await app.http.fetch('/forms/new');
    await app.http.fetch('/forms/new', { headers: { 'x-token': 'tok-456' } });
    expect(seen).toEqual([{}, { csrf_token: 'tok-456' }]);
  });
});
