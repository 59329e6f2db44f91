// The example blog's tracing (BLOG_TELEMETRY): with its startTracing() registered, a comment posted
// over a post's live socket is one trace, from the request's frame to its broadcast and delivery.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp } from 'vela/testing';
import { AppModule, BLOG_OPTIONS, BLOG_VIEWS } from '../../example/blog/app.module.js';
import { startTracing } from '../../example/blog/telemetry.js';
import { parentOf, RecordingExporter } from './support.js';

const exporter = new RecordingExporter();
let stopTracing: () => Promise<void>;
beforeAll(() => (stopTracing = startTracing(exporter)));
afterAll(() => stopTracing());

describe('example/blog with BLOG_TELEMETRY', () => {
  it('traces a posted comment from its frame to its broadcast and delivery', async () => {
    const app = await startTestApp(AppModule, { views: BLOG_VIEWS, middleware: BLOG_OPTIONS.middleware });
    // Signed in, as only a user can comment (the socket's upgrade carries the session cookie).
    const form = await (await app.http.get('/login')).text();
    await app.http.form('/login', { name: 'Ada', password: 'ada-pass', _csrf: /name="_csrf" value="([^"]+)"/.exec(form)![1]! });
    const socket = await app.ws('/posts/1/live');
    expect(await socket.recvJson()).toMatchObject({ event: 'presence_state' });
    socket.sendJson({ event: 'post', data: { text: 'traced' }, ref: '1' });
    // The broadcast and the answer, with presence diffs in any order between.
    const frames: unknown[] = [];
    while (!frames.some((frame) => (frame as { ref?: string }).ref === '1') && frames.length < 5) frames.push(await socket.recvJson());
    expect(frames).toContainEqual({ ref: '1', ok: expect.objectContaining({ id: expect.any(String), author: 'Ada', text: 'traced' }) });

    const named = async (name: string) => (await exporter.waitFor((span) => span.name === name))[0]!;
    const process = await named('process post');
    const publish = await named('publish post:*');
    const deliver = await named('deliver post:*');
    expect((await named('GET /posts/:id/live')).attributes['http.response.status_code']).toBe(101);
    expect(parentOf(publish)).toBe(process.spanContext().spanId);
    expect(parentOf(deliver)).toBe(publish.spanContext().spanId);
  });
});
