// The default logger (consoleLogger: pino), run in a child process as an app runs it, its stdout read
// as an operator's log collector would: JSON lines, LOG_LEVEL, errors with their stack, pretty
// output only in development, and no line lost when the process exits right after logging.
import { execFile, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const logger = pathToFileURL(new URL('../src/logging/console-logger.ts', import.meta.url).pathname).href;

/** Runs `body` (with `log = consoleLogger()` in scope) in a fresh node; its stdout and stderr. */
async function logIn(body: string, env: Record<string, string | undefined> = {}) {
  const script = `import { consoleLogger } from ${JSON.stringify(logger)};\nconst log = consoleLogger();\n${body}`;
  const { NODE_ENV: _, LOG_LEVEL: __, ...inherited } = process.env;
  return run(process.execPath, ['--import', tsx, '--input-type=module', '-e', script], {
    env: { ...inherited, NODE_ENV: 'production', ...env },
    maxBuffer: 64 * 1024 * 1024,
  });
}

const lines = (stdout: string) => stdout.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);

// Each test starts node with tsx, which takes seconds on a busy machine.
describe('consoleLogger (the default logger)', { timeout: 60_000 }, () => {
  it('46. writes one JSON line per event on stdout: level, time, message and the fields', async () => {
    const { stdout, stderr } = await logIn(`log.info('request', { method: 'GET', path: '/users/7', status: 200, durationMs: 1.2 }); log.warn('slow');`);

    expect(stderr).toBe('');
    expect(lines(stdout)).toEqual([
      expect.objectContaining({ level: 30, time: expect.any(Number), msg: 'request', method: 'GET', path: '/users/7', status: 200, durationMs: 1.2 }),
      expect.objectContaining({ level: 40, msg: 'slow' }),
    ]);
  });

  it('46. takes its level from LOG_LEVEL: info by default, debug and warn when asked, nothing at silent', async () => {
    const body = `log.debug('d'); log.info('i'); log.warn('w'); log.error('e');`;
    const messages = async (level?: string) => lines((await logIn(body, { LOG_LEVEL: level })).stdout).map((line) => line.msg);

    expect(await Promise.all([messages(), messages('DEBUG'), messages('warn'), messages('silent')])).toEqual([
      ['i', 'w', 'e'],
      ['d', 'i', 'w', 'e'],
      ['w', 'e'],
      [],
    ]);
  });

  it('46. logs an error field with its type, message and stack', async () => {
    const { stdout } = await logIn(`log.error('request failed', { path: '/boom', error: new TypeError('kaput') });`);

    const [line] = lines(stdout);
    expect(line).toMatchObject({ level: 50, msg: 'request failed', path: '/boom', error: { type: 'TypeError', message: 'kaput' } });
    expect((line!.error as { stack: string }).stack).toMatch(/^TypeError: kaput\n\s+at /);
  });

  it('46. loses no line when the process exits right after logging', async () => {
    const { stdout } = await logIn(`for (let i = 0; i < 20000; i++) log.info('line', { i });\nprocess.exit(0);`);

    const seen = lines(stdout).map((line) => line.i);
    expect(seen).toHaveLength(20000);
    expect(seen[19999]).toBe(19999);
  });

  it('46. keeps lines whole and in order across batches: multi-byte text, and lines longer than a batch', async () => {
    // Batches are 4 KiB of UTF-8: a line with 3-byte characters, or one larger than a whole batch
    // (a long stack), must neither be cut at a batch's edge nor overtake the lines before it.
    const { stdout } = await logIn(
      `for (let i = 0; i < 300; i++) log.info('line', { i, text: i % 50 === 7 ? '€'.repeat(3000) : 'é中'.repeat(i % 40) });\nprocess.exit(0);`,
    );

    const logged = lines(stdout);
    expect(logged.map((line) => line.i)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    expect(logged.map((line) => line.text)).toEqual(Array.from({ length: 300 }, (_, i) => (i % 50 === 7 ? '€'.repeat(3000) : 'é中'.repeat(i % 40))));
  });

  it('46. a batched line keeps the time it was logged and the values it was given, in the order logged', async () => {
    // Lines of plain values are formatted when their batch is written; lines with objects at once.
    // Either way a line shows what was true when it was logged, and lines keep their order.
    const { stdout, stderr } = await logIn(
      [
        `const before = Date.now();`,
        `const fields = { step: 1, who: 'ada' };`,
        `log.info('plain', fields);`,
        `const after = Date.now();`,
        `fields.step = 2; fields.extra = true;`,
        `const nested = { user: { name: 'ada' } };`,
        `log.warn('object', nested);`,
        `nested.user.name = 'joe';`,
        `log.info('last');`,
        `Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50); // the batch is written later than the lines were logged`,
        `log.flush();`,
        `console.error(JSON.stringify({ before, after }));`,
      ].join('\n'),
    );

    const { before, after } = JSON.parse(stderr) as { before: number; after: number };
    const logged = lines(stdout);
    expect(logged.map((line) => line.msg)).toEqual(['plain', 'object', 'last']);
    expect(logged[0]).toMatchObject({ step: 1, who: 'ada' });
    expect(logged[0]).not.toHaveProperty('extra');
    expect(logged[0]!.time).toBeGreaterThanOrEqual(before);
    expect(logged[0]!.time).toBeLessThanOrEqual(after);
    expect(logged[1]).toMatchObject({ level: 40, user: { name: 'ada' } });
  });

  it('46. flush() writes the batch at once: lines logged before it come before what the process prints after', async () => {
    const { stdout } = await logIn(`log.info('first'); log.flush(); process.stdout.write('after\\n'); log.info('second');`);

    const printed = stdout.trim().split('\n');
    expect(printed.map((line) => (line.startsWith('{') ? (JSON.parse(line) as { msg: string }).msg : line))).toEqual(['first', 'after', 'second']);
  });

  it('46. a line of a quiet process reaches stdout while it runs, not only when it exits (batches are flushed)', async () => {
    // One line, far under a batch, in a process that stays up: it must arrive without an exit.
    const script = `import { consoleLogger } from ${JSON.stringify(logger)};\nconst log = consoleLogger();\nlog.info('alone');\nsetInterval(() => {}, 1000);`;
    const { NODE_ENV: _, LOG_LEVEL: __, ...inherited } = process.env;
    const child = spawn(process.execPath, ['--import', tsx, '--input-type=module', '-e', script], {
      env: { ...inherited, NODE_ENV: 'production' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      let out = '';
      const line = await new Promise<Record<string, unknown>>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          if (out.includes('\n')) resolve(lines(out)[0]!);
        });
        child.once('exit', (code) => reject(new Error(`exited (${code}) before logging: ${out}`)));
      });
      expect(line).toMatchObject({ level: 30, msg: 'alone' });
      expect(child.exitCode).toBe(null);
    } finally {
      child.kill();
    }
  });

  it('46. pretty-prints for people with NODE_ENV=development, errors with their stack', async () => {
    const { stdout } = await logIn(`log.info('request', { path: '/x' }); log.error('request failed', { error: new Error('kaput') });`, {
      NODE_ENV: 'development',
    });

    expect(stdout).not.toMatch(/^\{/m);
    expect(stdout).toMatch(/INFO.*: request\n\s+path: "\/x"/);
    expect(stdout).toMatch(/ERROR.*: request failed\n[\s\S]*Error: kaput\n\s+at /);
  });
});
