// liquidEngine on its own: file lookup, escaping, caching, and staying inside its directory.
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ViewNotFoundError, liquidEngine } from '../../src/index.js';

let dir: string;
let views: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vela-liquid-'));
  views = join(dir, 'views');
  await mkdir(join(views, 'users'), { recursive: true });
  await writeFile(join(dir, 'secret.liquid'), 'SECRET');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('#render', () => {
  it('renders <dir>/<name>.liquid with the variables, escaping output', async () => {
    await writeFile(join(views, 'users', 'show.liquid'), '<b>{{ name }}</b> {{ name | raw }}');
    const engine = liquidEngine({ dir: views });

    expect(await engine.render('users/show', { name: '<i>Ada</i>' })).toBe('<b>&lt;i&gt;Ada&lt;/i&gt;</b> <i>Ada</i>');
  });

  it('takes another extension, and a name that already ends with it', async () => {
    await writeFile(join(views, 'users', 'show.html'), 'html {{ n }}');
    const engine = liquidEngine({ dir: views, extension: 'html' });

    expect(await engine.render('users/show', { n: 1 })).toBe('html 1');
    expect(await engine.render('users/show.html', { n: 2 })).toBe('html 2');
  });

  it('throws ViewNotFoundError naming the file looked for', async () => {
    const engine = liquidEngine({ dir: views });

    const failure = engine.render('users/missing', {});
    await expect(failure).rejects.toBeInstanceOf(ViewNotFoundError);
    await expect(failure).rejects.toMatchObject({
      view: 'users/missing',
      file: join(views, 'users', 'missing.liquid'),
      message: `View "users/missing" not found: no template at ${join(views, 'users', 'missing.liquid')}.`,
    });
  });

  it('reports other template errors as they are', async () => {
    await writeFile(join(views, 'users', 'typo.liquid'), '{{ name | upcas }}');
    const engine = liquidEngine({ dir: views });

    await expect(engine.render('users/typo', { name: 'a' })).rejects.toThrow('undefined filter: upcas');
  });
});

describe('cache', () => {
  it('keeps parsed templates when on', async () => {
    await writeFile(join(views, 'users', 'show.liquid'), 'old');
    const engine = liquidEngine({ dir: views, cache: true });
    expect(await engine.render('users/show', {})).toBe('old');

    await writeFile(join(views, 'users', 'show.liquid'), 'new');
    expect(await engine.render('users/show', {})).toBe('old');
  });

  it('reads the file on every render when off', async () => {
    await writeFile(join(views, 'users', 'show.liquid'), 'old');
    const engine = liquidEngine({ dir: views, cache: false });
    expect(await engine.render('users/show', {})).toBe('old');

    await writeFile(join(views, 'users', 'show.liquid'), 'new');
    expect(await engine.render('users/show', {})).toBe('new');
  });
});

describe('the views directory', () => {
  it('refuses names that leave it', async () => {
    const engine = liquidEngine({ dir: views });

    await expect(engine.render('../secret', {})).rejects.toThrow('View name "../secret" is refused: a view name must not contain ".." segments.');
    await expect(engine.render(join(dir, 'secret'), {})).rejects.toThrow(
      'is refused: a view name must be relative to the views directory, not absolute.',
    );
    await expect(engine.render('users\0', {})).rejects.toThrow('View name "users\\u0000" is refused: a view name must not contain NUL.');
  });

  it('does not follow a symlink out of it', async () => {
    await symlink(join(dir, 'secret.liquid'), join(views, 'users', 'link.liquid'));
    const engine = liquidEngine({ dir: views });

    await expect(engine.render('users/link', {})).rejects.toThrow('ENOENT: Failed to lookup');
  });

  it('keeps partials inside it', async () => {
    await writeFile(join(views, 'users', 'sneaky.liquid'), '{% render "../../secret" %}');
    const engine = liquidEngine({ dir: views });

    await expect(engine.render('users/sneaky', {})).rejects.toThrow('ENOENT: Failed to lookup');
  });
});
