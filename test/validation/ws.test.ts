// Validation of WebSocket event data with any Standard Schema, once per library (zod, valibot,
// arktype) with the same assertions: the handler gets the output; invalid data never reaches it and
// is reported on the frame that caused it (a request's answer, or one `vela:error` event for a plain
// event) with the socket kept open; a schema that throws is logged and answered `internal`; an async
// schema holds the connection's mailbox, so frames are handled in the order they came.
import { describe, expect, it } from 'vitest';
import { Module, OnMessage, WebSocket, ack, json, reply, type Class, type Infer, type Schema } from 'vela';
import { startTestApp, type TestApp, type TestSocket } from 'vela/testing';
import { ASYNC_LIBRARIES, LIBRARIES, type Library } from './libraries.js';
import { deferred } from '../support/deferred.js';

interface ErrorEvent {
  event: 'vela:error';
  data: { event: string; code: string; message: string; issues?: { path: (string | number)[]; message: string }[] };
}

/** A gateway whose `post` validates with `lib.Comment`, `explode` with a schema that throws, `free` with none. */
function commentsModule(lib: Library, handled: string[] = []): Class {
  @WebSocket('/comments')
  class CommentsGateway {
    @OnMessage('post', { data: lib.Comment })
    post(data: Infer<typeof lib.Comment>) {
      handled.push('post');
      return reply(json({ event: 'posted', data }), ack(data));
    }

    @OnMessage('explode', { data: lib.Exploding })
    explode() {
      handled.push('explode');
      return reply('never');
    }

    @OnMessage('free')
    free(data: unknown) {
      return reply(json({ event: 'free', data }));
    }
  }

  @Module({ gateways: [CommentsGateway] })
  class CommentsModule {}
  return CommentsModule;
}

async function open(lib: Library, handled?: string[]): Promise<{ app: TestApp; socket: TestSocket }> {
  const app = await startTestApp(commentsModule(lib, handled));
  return { app, socket: await app.ws('/comments') };
}

const errorsLogged = (app: TestApp) => app.logs.entries.filter((entry) => entry.level === 'error');

describe.each(LIBRARIES)('WebSocket validation with $name', (lib) => {
  it("hands the schema's output (trimmed, defaulted) to the handler, for a plain event and a request", async () => {
    const { socket } = await open(lib);
    socket.sendEvent('post', { text: '  hi  ' });
    expect(await socket.recvJson()).toEqual({ event: 'posted', data: { text: 'hi', tags: [] } });
    socket.sendJson({ event: 'post', data: { text: 'yo', tags: ['a'] }, ref: '1' });
    expect(await socket.recvJson()).toEqual({ event: 'posted', data: { text: 'yo', tags: ['a'] } });
    expect(await socket.recvJson()).toEqual({ ref: '1', ok: { text: 'yo', tags: ['a'] } });
  });

  it('answers an invalid request { ref, error: { code: invalid, message, issues } } without calling the handler; the socket stays open', async () => {
    const handled: string[] = [];
    const { app, socket } = await open(lib, handled);
    socket.sendJson({ event: 'post', data: { text: '   ', tags: ['ok', 2] }, ref: 'r1' });
    const answer = await socket.recvJson<{ ref: string; error: { code: string; message: string; issues: { path: unknown[]; message: string }[] } }>();
    expect(Object.keys(answer.error)).toEqual(['code', 'message', 'issues']);
    expect(answer).toMatchObject({ ref: 'r1', error: { code: 'invalid' } });
    expect(answer.error.message).toMatch(/^invalid data for event 'post': /);
    expect(answer.error.issues.map((issue) => issue.path).sort()).toEqual([['tags', 1], ['text']]);
    for (const issue of answer.error.issues) expect(Object.keys(issue)).toEqual(['path', 'message']);
    expect(handled).toEqual([]);

    socket.sendJson({ event: 'post', data: { text: 'fixed' }, ref: 'r2' });
    expect(await socket.recvJson()).toEqual({ event: 'posted', data: { text: 'fixed', tags: [] } });
    expect(await socket.recvJson()).toEqual({ ref: 'r2', ok: { text: 'fixed', tags: [] } });
    expect(errorsLogged(app)).toEqual([]);
  });

  it('sends one vela:error event naming the event for an invalid plain event; the next valid frame is handled', async () => {
    const handled: string[] = [];
    const { socket } = await open(lib, handled);
    socket.sendEvent('post', { text: 42 });
    const error = await socket.recvJson<ErrorEvent>();
    expect(error).toEqual({
      event: 'vela:error',
      data: { event: 'post', code: 'invalid', message: expect.stringMatching(/^invalid data for event 'post': /), issues: [{ path: ['text'], message: expect.any(String) }] },
    });
    // The very next frame answers the next event: the invalid one produced exactly one frame.
    socket.sendEvent('post', { text: 'ok' });
    expect(await socket.recvJson()).toEqual({ event: 'posted', data: { text: 'ok', tags: [] } });
    expect(handled).toEqual(['post']);
  });

  it('refuses data that is missing altogether (an event frame without data)', async () => {
    const { socket } = await open(lib);
    socket.sendJson({ event: 'post' });
    expect(await socket.recvJson<ErrorEvent>()).toMatchObject({ event: 'vela:error', data: { event: 'post', code: 'invalid', issues: [{ path: [] }] } });
  });

  it('answers internal for a schema that throws, logs it with the handler, and keeps the socket open', async () => {
    const handled: string[] = [];
    const { app, socket } = await open(lib, handled);
    socket.sendJson({ event: 'explode', data: { text: 'x' }, ref: '1' });
    const raw = String(await socket.recv());
    expect(JSON.parse(raw)).toEqual({ ref: '1', error: { code: 'internal', message: 'internal error' } });
    socket.sendEvent('explode', { text: 'x' });
    expect(await socket.recvJson()).toEqual({ event: 'vela:error', data: { event: 'explode', code: 'internal', message: 'internal error' } });
    expect(raw).not.toContain('secret');

    const logged = errorsLogged(app);
    expect(logged.map((entry) => [entry.message, entry.fields.handler])).toEqual([
      ['gateway callback failed', 'CommentsGateway.explode'],
      ['gateway callback failed', 'CommentsGateway.explode'],
    ]);
    expect((logged[0]!.fields.error as Error).message).toBe(
      "the data schema of event 'explode' (CommentsGateway.explode) threw instead of returning issues: schema bug: secret detail",
    );
    expect(handled).toEqual([]);
    socket.sendEvent('post', { text: 'still here' });
    expect(await socket.recvJson()).toEqual({ event: 'posted', data: { text: 'still here', tags: [] } });
  });

  it('leaves an event without a schema as it is, on a gateway that has schemas', async () => {
    const { socket } = await open(lib);
    socket.sendEvent('free', { anything: [1, '2'] });
    expect(await socket.recvJson()).toEqual({ event: 'free', data: { anything: [1, '2'] } });
  });
});

describe.each(ASYNC_LIBRARIES)('WebSocket validation with $name, async refinements', (lib) => {
  /** `claim` validates with an async refinement; `slow` waits for `gate` (true: taken). */
  async function claims() {
    const gate = deferred<boolean>();
    const taken = (name: string) => (name === 'slow' ? gate.promise : Promise.resolve(name === 'taken'));
    const schema: Schema = lib.uniqueName!(taken);
    @WebSocket('/claims')
    class ClaimsGateway {
      @OnMessage('claim', { data: schema })
      claim(data: Infer<typeof schema>) {
        return reply(json({ claimed: (data as { name: string }).name }));
      }
    }
    @Module({ gateways: [ClaimsGateway] })
    class ClaimsModule {}
    const app = await startTestApp(ClaimsModule);
    return { gate, socket: await app.ws('/claims') };
  }

  it('awaits the refinement: a request for a taken name is answered invalid, a free one handled', async () => {
    const { socket } = await claims();
    socket.sendJson({ event: 'claim', data: { name: 'taken' }, ref: '1' });
    expect(await socket.recvJson()).toEqual({
      ref: '1',
      error: { code: 'invalid', message: "invalid data for event 'claim': name: name is taken", issues: [{ path: ['name'], message: 'name is taken' }] },
    });
    socket.sendEvent('claim', { name: 'taken' });
    expect(await socket.recvJson()).toMatchObject({ event: 'vela:error', data: { event: 'claim', code: 'invalid' } });
    socket.sendEvent('claim', { name: 'free' });
    expect(await socket.recvJson()).toEqual({ claimed: 'free' });
  });

  it('keeps the order of frames: a later frame waits for an earlier one whose schema is still awaiting', async () => {
    const { gate, socket } = await claims();
    socket.sendEvent('claim', { name: 'slow' });
    socket.sendEvent('claim', { name: 'quick' });
    // Answered at once, even with the mailbox held: once it is back, the server has read both events.
    socket.sendText('vela:ping');
    expect(await socket.recv()).toBe('vela:pong');
    gate.resolve(false);
    expect(await socket.recvJson()).toEqual({ claimed: 'slow' });
    expect(await socket.recvJson()).toEqual({ claimed: 'quick' });
  });
});
