// Case 30, property tests (fast-check) on real servers: whatever a controller returns or throws is
// answered, whatever text a client sends a JSON-event gateway is dispatched or refused as
// documented, and generated routes match as documented. Every run prints its seed, and a failure
// its seed and path: replay it with `FC_SEED=<seed> FC_PATH=<path> npx vitest run
// test/reliability/properties.test.ts`. Defects they found are pinned, smallest case each, at the end.
import { request as httpRequest, Agent, type IncomingHttpHeaders } from 'node:http';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  Controller,
  FallbackController,
  Module,
  OnMessage,
  Route,
  WebSocket,
  json,
  redirect,
  reply,
  status,
  type Class,
  type Context,
  type Fallback,
} from 'vela';
import { startTestApp, type TestApp, type TestSocket } from 'vela/testing';

// One seed for the run, printed, so that any failure can be replayed exactly.
const seed = process.env.FC_SEED === undefined ? (Date.now() ^ (Math.random() * 0x1_0000_0000)) | 0 : Number(process.env.FC_SEED);
fc.configureGlobal({ seed, ...(process.env.FC_PATH ? { path: process.env.FC_PATH } : {}) });
console.log(`[case 30] fast-check seed ${seed}: replay with FC_SEED=${seed} npx vitest run test/reliability/properties.test.ts`);

/** A request that gets no complete response within this long is a hung request. */
const HANG_MS = 2_000;

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

const agent = new Agent({ keepAlive: true, maxSockets: 4 });

/** GET with Node's own client (no redirect following, no fetch quirks); rejects when no answer comes in HANG_MS. */
function get(app: TestApp, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(app.url + path, { agent, headers: { accept: 'application/json' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.once('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      });
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`GET ${path}: no complete response within ${HANG_MS} ms (a hung request)`));
    }, HANG_MS);
    req.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end();
  });
}

// ---------------------------------------------------------------------------------------------
// Result handling

const BUILTIN_TAGS = ['json', 'status', 'redirect', 'ok', 'view', 'sendfile'] as const;

/** What the controller does for one request: return (sync or async) or throw (sync or as a rejection). */
type Behaviour = { kind: 'return' | 'resolve'; value: unknown } | { kind: 'throw' | 'reject'; value: unknown };

const behaviours = new Map<string, Behaviour>();
let nextId = 0;

function act(ctx: Context): unknown {
  const behaviour = behaviours.get(ctx.params.id!)!;
  switch (behaviour.kind) {
    case 'return':
      return behaviour.value;
    case 'resolve':
      return Promise.resolve(behaviour.value);
    case 'throw':
      throw behaviour.value;
    case 'reject':
      return Promise.reject(behaviour.value);
  }
}

@Controller({ prefix: '/bare' })
class BareController {
  @Route('/:id')
  value(ctx: Context) {
    return act(ctx);
  }
}

class JsonFallback implements Fallback {
  resolve() {
    return json({ fallback: true }, { status: 422 });
  }
}

@Controller({ prefix: '/fb' })
@FallbackController(JsonFallback)
class FallbackResultsController {
  @Route('/:id')
  value(ctx: Context) {
    return act(ctx);
  }
}

@Controller()
class HealthController {
  @Route('/health')
  health() {
    return json('ok');
  }
}

@Module({ controllers: [BareController, FallbackResultsController, HealthController] })
class ResultsModule {}

function isTagged(value: unknown): value is readonly [string, ...unknown[]] {
  return Array.isArray(value) && value.length > 0 && typeof value[0] === 'string';
}

function claimed(value: unknown): boolean {
  return isTagged(value) && (BUILTIN_TAGS as readonly string[]).includes(value[0]);
}

/** The status Koa's convention gives a thrown value (HttpError, or `status`/`statusCode` 400–599), else 500. */
function statusForThrown(thrown: unknown): number {
  const candidate = thrown as { status?: unknown; statusCode?: unknown } | null | undefined;
  const status = Number(candidate?.status ?? candidate?.statusCode);
  return Number.isInteger(status) && status >= 400 && status <= 599 ? status : 500;
}

const noBodyStatus = (code: number) => code === 204 || code === 205 || code === 304;
const jsonRoundTrip = (value: unknown): unknown => JSON.parse(JSON.stringify(value) ?? 'null');

const okStatus = fc.integer({ min: 200, max: 599 });
const wellFormedJson = fc
  .record({ body: fc.jsonValue(), status: fc.option(okStatus.filter((s) => !noBodyStatus(s)), { nil: undefined }) })
  .map(({ body, status }) => ({ value: status === undefined ? json(body) : json(body, { status }), expect: { status: status ?? 200, json: jsonRoundTrip(body) } }));
const wellFormedStatus = fc
  .record({ code: okStatus, body: fc.option(fc.oneof(fc.string(), fc.dictionary(fc.string(), fc.jsonValue())), { nil: undefined }) })
  // What JSON carries back, not what was sent: `-0` arrives as `0`.
  .map(({ code, body }) => ({ value: body === undefined ? status(code) : status(code, { body }), expect: { status: code, body: typeof body === 'object' ? jsonRoundTrip(body) : body } }));
const wellFormedRedirect = fc
  .record({ path: fc.webPath(), code: fc.integer({ min: 300, max: 399 }) })
  .map(({ path, code }) => ({ value: redirect(path || '/', { status: code }), expect: { status: code } }));

/** A Koa-style error: any of status, statusCode, message, expose, headers. */
const koaStyleError = fc.record(
  {
    status: fc.oneof(fc.integer({ min: 0, max: 999 }), fc.string()),
    statusCode: fc.integer({ min: 0, max: 999 }),
    message: fc.oneof(fc.string(), fc.anything()),
    expose: fc.oneof(fc.boolean(), fc.anything()),
    headers: fc.oneof(fc.dictionary(fc.string(), fc.string()), fc.anything()),
  },
  { requiredKeys: [] },
);
const junkResult = fc.oneof(
  fc.anything(),
  fc.tuple(fc.constantFrom(...BUILTIN_TAGS), fc.anything(), fc.anything()).map((t) => [...t] as unknown),
  fc.tuple(fc.constantFrom(...BUILTIN_TAGS), fc.anything()).map((t) => [...t] as unknown),
  fc.tuple(fc.string(), fc.anything()).map((t) => [...t] as unknown),
);
const behaviour: fc.Arbitrary<Behaviour> = fc.oneof(
  fc.record({ kind: fc.constantFrom('return' as const, 'resolve' as const), value: junkResult }),
  fc.record({ kind: fc.constantFrom('throw' as const, 'reject' as const), value: fc.oneof(fc.anything(), koaStyleError) }),
);

/** The log lines of the request to `path` (every line Vela logs for a request carries its path). */
function linesFor(app: TestApp, path: string) {
  return app.logs.entries.filter((e) => (e.fields as { path?: unknown } | undefined)?.path === path);
}

describe('30. property: result handling', () => {
  it('30. property: a well-formed json/status/redirect result is rendered as asked, sync or async', async () => {
    const app = await startTestApp(ResultsModule);
    await fc.assert(
      fc.asyncProperty(fc.oneof(wellFormedJson, wellFormedStatus, wellFormedRedirect), fc.boolean(), async (result, async) => {
        const id = String(++nextId);
        behaviours.set(id, { kind: async ? 'resolve' : 'return', value: result.value });
        const answer = await get(app, `/bare/${id}`);
        expect(answer.status).toBe(result.expect.status);
        if ('json' in result.expect) {
          expect(answer.headers['content-type']).toMatch(/^application\/json/);
          expect(JSON.parse(answer.body)).toEqual(result.expect.json);
        } else if ('body' in result.expect && result.expect.body !== undefined && !noBodyStatus(result.expect.status)) {
          const { body } = result.expect;
          expect(typeof body === 'string' ? answer.body : JSON.parse(answer.body)).toEqual(body);
        } else if (result.value[0] === 'redirect') {
          expect(answer.headers.location).toBeDefined();
        }
      }),
      { numRuns: 150 },
    );
    expect(app.logs.entries.filter((e) => e.level === 'error')).toEqual([]);
  });

  it('30. property: any other return or throw gets an answer — fallback, status route of the thrown status, or a logged 500 — never a hang', async () => {
    const app = await startTestApp(ResultsModule);
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(behaviour, fc.boolean(), async (b, withFallback) => {
        runs += 1;
        const id = String(++nextId);
        behaviours.set(id, b);
        const path = `/${withFallback ? 'fb' : 'bare'}/${id}`;
        const answer = await get(app, path);
        const lines = linesFor(app, path);
        // Koa's own last-resort handler logs this (without the path): the boundary was bypassed.
        expect(app.logs.entries.filter((e) => e.message === 'unhandled error')).toEqual([]);

        if (b.kind === 'throw' || b.kind === 'reject') {
          // Thrown errors go to status pages, with the fallback or without.
          const expected = statusForThrown(b.value);
          expect(answer.status).toBe(expected);
          expect(JSON.parse(answer.body)).toMatchObject({ status: expected });
          if (expected >= 500) expect(lines.map((e) => [e.level, e.message])).toContainEqual(['error', 'request failed']);
          return;
        }
        if (!claimed(b.value)) {
          if (withFallback) {
            expect([answer.status, JSON.parse(answer.body)]).toEqual([422, { fallback: true }]);
          } else {
            expect(answer.status).toBe(500);
            const failure = lines.find((e) => e.level === 'error' && e.message === 'request failed');
            expect((failure?.fields as { error?: Error }).error?.message).toMatch(
              /^BareController\.value returned .*, which no result handler claims\. Return a result \(json, status, redirect, sendfile, ok, view\)/s,
            );
          }
          return;
        }
        // A built-in tag with a payload of any shape: its handler's answer, or a logged 500.
        expect(answer.status).toBeGreaterThanOrEqual(200);
        expect(answer.status).toBeLessThanOrEqual(999);
        if (answer.status === 500) {
          const failure = lines.find((e) => e.level === 'error' && e.message === 'request failed');
          expect(failure, `a 500 for ${JSON.stringify(b.value)} without a logged reason`).toBeDefined();
        }
      }),
      { numRuns: 300 },
    );
    expect(runs).toBeGreaterThan(250);
    expect((await get(app, '/health')).status).toBe(200);
  }, 30_000);
});

// ---------------------------------------------------------------------------------------------
// Frame dispatch

@WebSocket('/events', { heartbeat: 0 })
class EventsGateway {
  @OnMessage('echo')
  echo(data: unknown) {
    return reply(json({ echo: data }));
  }

  @OnMessage('probe')
  probe(data: unknown) {
    return reply(json({ probe: data }));
  }
}

@Module({ gateways: [EventsGateway] })
class EventsModule {}

type Sent = { text: string } | { binary: Uint8Array };

/** Event names that would dispatch by mistake if handlers were looked up on a plain object. */
const eventName = fc.oneof(
  fc.constantFrom('echo', 'probe', 'constructor', '__proto__', 'toString', 'hasOwnProperty', 'init', 'terminate', 'Echo', 'echo ', ''),
  fc.string(),
);
const eventObject = fc
  .record({ event: eventName, data: fc.option(fc.jsonValue(), { nil: undefined }), extra: fc.dictionary(fc.oneof(fc.string(), fc.constantFrom('__proto__', 'constructor')), fc.jsonValue(), { maxKeys: 3 }) })
  .map(({ event, data, extra }) => JSON.stringify({ ...extra, event, ...(data === undefined ? {} : { data }) }));
const frame: fc.Arbitrary<Sent> = fc.oneof(
  { weight: 4, arbitrary: eventObject.map((text) => ({ text })) },
  // An event that is not a string, a JSON value that is not an object, broken JSON, any text.
  { weight: 1, arbitrary: fc.record({ event: fc.jsonValue().filter((v) => typeof v !== 'string'), data: fc.jsonValue() }).map((v) => ({ text: JSON.stringify(v) })) },
  { weight: 1, arbitrary: fc.jsonValue().map((v) => ({ text: JSON.stringify(v) })) },
  { weight: 1, arbitrary: fc.tuple(eventObject, fc.nat()).map(([t, n]) => ({ text: t.slice(0, n % t.length) })) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary' }).map((text) => ({ text })) },
  { weight: 1, arbitrary: fc.constantFrom('vela:ping', '', ' ', '{}', '[]', 'null', '{"event":"echo"}').map((text) => ({ text })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((binary) => ({ binary })) },
);

const NOT_AN_EVENT = 'expected JSON {"event": name, "data": value}';
const PROTO_KEY = 'event JSON has a __proto__ key: send plain data';

/**
 * What the documented dispatch does with these frames (API.md, WebSocket gateways): the replies
 * expected in order, and the 1007 close reason if the socket must be closed. Binary frames and
 * events no handler takes are ignored; `vela:ping` is answered `vela:pong`; text that is not a JSON
 * object with a string `event` closes with 1007, as does an event with a `__proto__` key anywhere
 * (generated values stay far below the depth limit), and nothing after it is read.
 */
function expectedFor(frames: Sent[]): { replies: string[]; closes?: string } {
  const replies: string[] = [];
  for (const sent of frames) {
    if ('binary' in sent) continue;
    const text = Buffer.from(sent.text).toString(); // what goes on the wire: UTF-8, lone surrogates replaced
    if (text === 'vela:ping') {
      replies.push('vela:pong');
      continue;
    }
    let value: unknown;
    let protoKey = false;
    try {
      value = JSON.parse(text, (key, item: unknown) => ((protoKey ||= key === '__proto__'), item));
    } catch {
      return { replies, closes: NOT_AN_EVENT };
    }
    if (typeof value !== 'object' || value === null || typeof (value as { event?: unknown }).event !== 'string') {
      return { replies, closes: NOT_AN_EVENT };
    }
    if (protoKey) return { replies, closes: PROTO_KEY };
    const { event, data } = value as { event: string; data?: unknown };
    if (event === 'echo') replies.push(JSON.stringify({ echo: data }));
    if (event === 'probe') replies.push(JSON.stringify({ probe: data }));
  }
  return { replies };
}

/** Every message still queued on a closed client. */
async function drain(client: TestSocket): Promise<(string | Buffer)[]> {
  const left: (string | Buffer)[] = [];
  for (;;) {
    try {
      left.push(await client.recv({ timeout: 0 }));
    } catch {
      return left;
    }
  }
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

describe('30. property: frame dispatch', () => {
  it('30. property: any frames to an @OnMessage(event) gateway are dispatched, ignored or closed with 1007 as documented; other sockets carry on', async () => {
    const app = await startTestApp(EventsModule);
    const bystander = await app.ws('/events');
    let closedRuns = 0;
    let probe = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 6 }), async (frames) => {
        const client = await app.ws('/events');
        const { replies, closes } = expectedFor(frames);
        for (const sent of frames) {
          if ('text' in sent) client.sendText(sent.text);
          else client.sendBinary(sent.binary);
        }
        if (closes) {
          closedRuns += 1;
          const closed = await within(client.closed, HANG_MS, 'expected a 1007 close');
          expect(closed).toEqual({ code: 1007, reason: closes });
          expect(await drain(client)).toEqual(replies);
        } else {
          // Replies leave in order: once the probe's is here, every earlier one has arrived.
          const mark = ++probe;
          client.sendJson({ event: 'probe', data: mark });
          const got: (string | Buffer)[] = [];
          for (let i = 0; i <= replies.length; i++) got.push(await client.recv({ timeout: HANG_MS }));
          expect(got).toEqual([...replies, JSON.stringify({ probe: mark })]);
          await client.close();
        }
        // The socket next door never notices.
        bystander.sendJson({ event: 'echo', data: probe });
        expect(await bystander.recv({ timeout: HANG_MS })).toBe(JSON.stringify({ echo: probe }));
      }),
      { numRuns: 200 },
    );
    expect(closedRuns).toBeGreaterThan(20);
    expect(app.logs.entries.filter((e) => e.level === 'error')).toEqual([]);
    expect(bystander.raw.readyState).toBe(bystander.raw.OPEN);
  }, 30_000);
});

// ---------------------------------------------------------------------------------------------
// Route matching

/** A controller built at run time: `@Route(path)` on one method per path, each answering its own index and params. */
function routesApp(paths: readonly string[]): Class {
  class GeneratedController {}
  const proto = GeneratedController.prototype as unknown as Record<string, unknown>;
  paths.forEach((path, i) => {
    proto[`r${i}`] = (ctx: Context) => json({ route: i, params: ctx.params });
    Route(path)(proto, `r${i}`, Object.getOwnPropertyDescriptor(proto, `r${i}`)!);
  });
  Controller()(GeneratedController);
  class GeneratedModule {}
  Module({ controllers: [GeneratedController] })(GeneratedModule);
  return GeneratedModule;
}

/**
 * A static segment: URL-safe characters that no URL parser rewrites (no dot segments). Lower case
 * only, as routes differing only in case are the defect pinned at the end.
 */
const segment = fc.stringMatching(/^[a-z0-9_~-][a-z0-9._~-]{0,7}$/);
const staticPath = (depth: fc.Arbitrary<number>) => depth.chain((n) => fc.array(segment, { minLength: n, maxLength: n })).map((s) => `/${s.join('/')}`);
const staticPaths = fc.uniqueArray(staticPath(fc.integer({ min: 1, max: 4 })), { minLength: 1, maxLength: 8 });
/** A parameter value with any characters, percent-encoded in the URL; never a dot segment. */
const paramValue = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }).filter((s) => s !== '.' && s !== '..');

describe('30. property: route matching', () => {
  it('30. property: every registered static path matches its own route, and a static segment beats a parameter whatever the order', async () => {
    await fc.assert(
      fc.asyncProperty(
        staticPaths,
        fc.func(fc.boolean()),
        paramValue,
        fc.infiniteStream(fc.nat()),
        async (statics, withParamSibling, value, order) => {
          // A parameter sibling `/parent/:p` for some statics, declared before or after them.
          const params = [...new Set(statics.filter((p) => withParamSibling(p)).map((p) => `${p.slice(0, p.lastIndexOf('/'))}/:p`))];
          const all = [...statics, ...params];
          // A generated permutation of the declaration order.
          const keyed = all.map((path) => ({ path, key: order.next().value as number }));
          const paths = keyed.sort((a, b) => a.key - b.key).map((k) => k.path);
          const app = await startTestApp(routesApp(paths));
          try {
            for (const path of statics) {
              const answer = await get(app, path);
              expect([path, answer.status, JSON.parse(answer.body)]).toEqual([path, 200, { route: paths.indexOf(path), params: {} }]);
            }
            // '@' is in no static segment, so only the parameter route can take this.
            const p = `@${value}`;
            for (const param of params) {
              const url = `${param.slice(0, -2)}${encodeURIComponent(p)}`;
              const answer = await get(app, url);
              expect([url, answer.status, JSON.parse(answer.body)]).toEqual([url, 200, { route: paths.indexOf(param), params: { p } }]);
            }
          } finally {
            await app.close();
          }
        },
      ),
      { numRuns: 40 },
    );
  }, 30_000);

  it('30. property: parameters round-trip any percent-encoded text', async () => {
    const app = await startTestApp(routesApp(['/p/:a/:b', '/p/:a']));
    await fc.assert(
      fc.asyncProperty(paramValue, fc.option(paramValue, { nil: undefined }), async (a, b) => {
        const url = `/p/${encodeURIComponent(a)}${b === undefined ? '' : `/${encodeURIComponent(b)}`}`;
        const answer = await get(app, url);
        expect(answer.status).toBe(200);
        expect(JSON.parse(answer.body)).toEqual(b === undefined ? { route: 1, params: { a } } : { route: 0, params: { a, b } });
      }),
      { numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Defects the properties found, fixed since, each pinned by the smallest case that showed it.

describe('30. defects found by the properties', () => {
  it('30. a result asking for a 1xx status gets a final response, a logged 500, not a client waiting for ever', async () => {
    const app = await startTestApp(ResultsModule);
    const id = String(++nextId);
    behaviours.set(id, { kind: 'return', value: status(150) });
    const answer = await get(app, `/bare/${id}`);
    expect(answer.status).toBe(500);
  });

  it('30. a static path beats a parameter even with a route of another depth declared between them', async () => {
    const app = await startTestApp(routesApp(['/users/:id', '/health', '/users/me']));
    expect(JSON.parse((await get(app, '/users/me')).body)).toEqual({ route: 2, params: {} });
  });

  it('30. a thrown value String() cannot convert (no prototype) gets the status page and a logged 500', async () => {
    const app = await startTestApp(ResultsModule);
    const id = String(++nextId);
    behaviours.set(id, { kind: 'throw', value: Object.create(null) });
    const answer = await get(app, `/bare/${id}`);
    expect([answer.status, answer.body]).toEqual([500, JSON.stringify({ error: 'Internal Server Error', status: 500 })]);
    expect(linesFor(app, `/bare/${id}`).map((e) => e.message)).toEqual(['request failed']);
  });

  it('30. a thrown Koa-style error with headers Node cannot send still gets its status page', async () => {
    const app = await startTestApp(ResultsModule);
    const id = String(++nextId);
    behaviours.set(id, { kind: 'throw', value: { status: 400, expose: true, message: 'bad', headers: { 'bad header': 'x', ok: 'line\r\nbreak' } } });
    const answer = await get(app, `/bare/${id}`);
    expect([answer.status, JSON.parse(answer.body)]).toEqual([400, { error: 'bad', status: 400 }]);
  });

  for (const [what, first, second] of [
    ['case', '/a', '/A'],
    ['a trailing slash', '/x', '/x/'],
  ] as const) {
    it(`30. routes that differ only in ${what} are refused at bootstrap (${second} would be unreachable)`, async () => {
      const error = await startTestApp(routesApp([first, second])).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ConfigError);
    });
  }
});
