// `vela serve`: a small TypeScript app with an injected provider and a view, served from a scratch
// directory through the built CLI. Each step edits a file and awaits the line that says what
// happened, then asks the app over HTTP.
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPackage, CliProcess, root, type BuiltPackage } from './support.js';

const greeter = (word: string) => `
import { Injectable } from 'vela';

@Injectable()
export class Greeter {
  word(): string {
    return ${word};
  }
}
`;

const APP = {
  'package.json': JSON.stringify({ name: 'served', private: true, type: 'module' }),
  'tsconfig.json': JSON.stringify({
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      types: ['node'],
      strict: true,
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
      skipLibCheck: true,
      rootDir: 'src',
      outDir: 'build',
    },
    include: ['src'],
  }),
  'src/greeter.ts': greeter(`'v1'`),
  // Greeter is injected by its constructor type: this fails unless tsc emitted design:paramtypes.
  'src/app.module.ts': `
import { Controller, Module, Route, json, ok } from 'vela';
import { Greeter } from './greeter.js';

@Controller()
class WordController {
  constructor(private readonly greeter: Greeter) {}

  @Route('/word')
  word() {
    return json({ word: this.greeter.word() });
  }

  @Route('/page')
  page() {
    return ok({ who: 'vela' });
  }
}

@Module({ controllers: [WordController], providers: [Greeter] })
export class AppModule {}
`,
  'src/main.ts': `
import { bootstrap } from 'vela';
import { AppModule } from './app.module.js';

const app = await bootstrap(AppModule, { port: 0, host: '127.0.0.1', requestLog: false });
console.log(\`listening on \${app.url}\`);
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
`,
  'views/word/page.liquid': 'Hello, {{ who }}!',
};

describe('vela serve', () => {
  let built: BuiltPackage;
  let app: string;

  beforeAll(async () => {
    built = await buildPackage();
    app = join(built.scratch, 'app');
    for (const [file, text] of Object.entries(APP)) {
      await mkdir(join(app, file, '..'), { recursive: true });
      await writeFile(join(app, file), text);
    }
    // Installed as npm would: vela from the built package, TypeScript and Node's types from here.
    await mkdir(join(app, 'node_modules/@types'), { recursive: true });
    await symlink(built.dir, join(app, 'node_modules/vela'), 'dir');
    await symlink(join(root, 'node_modules/typescript'), join(app, 'node_modules/typescript'), 'dir');
    await symlink(join(root, 'node_modules/@types/node'), join(app, 'node_modules/@types/node'), 'dir');
  }, 60_000);

  afterAll(() => built?.remove());

  it('compiles and starts the app, restarts it on source and view changes, and keeps it through a failed compile', async () => {
    const serve = new CliProcess(built.cli, ['serve'], { cwd: app });
    try {
      await serve.next(/^vela serve: compiling with tsc --watch -p tsconfig\.json; the app runs from build\/main\.js$/);
      await serve.next(/^vela serve: starting node build\/main\.js \(compiled\)$/);
      let url = (await serve.next(/^listening on (http:\S+)$/))[1]!;
      expect(await (await fetch(`${url}/word`)).json()).toEqual({ word: 'v1' });
      expect(await (await fetch(`${url}/page`)).text()).toBe('Hello, vela!');

      await writeFile(join(app, 'src/greeter.ts'), greeter(`'v2'`));
      await serve.next(/^vela serve: restarting \(compiled after changes\)$/);
      url = (await serve.next(/^listening on (http:\S+)$/))[1]!;
      expect(await (await fetch(`${url}/word`)).json()).toEqual({ word: 'v2' });

      // A type error: tsc's diagnostic is shown, and the running app is the one from before.
      await writeFile(join(app, 'src/greeter.ts'), greeter('42'));
      await serve.next(/^src\/greeter\.ts\(\d+,\d+\): error TS2322: Type 'number' is not assignable to type 'string'\.$/);
      await serve.next(/^vela serve: compile failed \(1 error\); the app keeps its last good build$/);
      expect(await (await fetch(`${url}/word`)).json()).toEqual({ word: 'v2' });

      // Compiles, but fails at start: the exit is reported and the next change starts it again.
      await writeFile(join(app, 'src/greeter.ts'), `${greeter(`'v3'`)}\nthrow new Error('boom at start');\n`);
      await serve.next(/^vela serve: restarting \(compiled after changes\)$/);
      await serve.next(/boom at start/);
      await serve.next(/^vela serve: app exited with code 1; waiting for a change$/);

      await writeFile(join(app, 'src/greeter.ts'), greeter(`'v3'`));
      await serve.next(/^vela serve: starting node build\/main\.js \(compiled after changes\)$/);
      url = (await serve.next(/^listening on (http:\S+)$/))[1]!;
      expect(await (await fetch(`${url}/word`)).json()).toEqual({ word: 'v3' });

      await writeFile(join(app, 'views/word/page.liquid'), 'Goodbye, {{ who }}!');
      await serve.next(/^vela serve: restarting \(views\/word\/page\.liquid changed\)$/);
      url = (await serve.next(/^listening on (http:\S+)$/))[1]!;
      expect(await (await fetch(`${url}/page`)).text()).toBe('Goodbye, vela!');

      // SIGTERM stops the app with the supervisor: the output closes only when both have exited.
      expect(await serve.stop('SIGTERM')).toEqual({ code: 0, signal: null });
      await serve.next(/^vela serve: stopping \(SIGTERM\)$/);
      await expect(fetch(`${url}/word`)).rejects.toThrow();
    } finally {
      await serve.stop();
    }
  }, 60_000);
});
