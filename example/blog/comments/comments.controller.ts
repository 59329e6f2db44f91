// Comments over HTTP: the page loads the history, and a comment posted here (a script, a job, with
// the CSRF token from /api/csrf-token in x-csrf-token) reaches every open comments socket through
// the same channel, in the same shape, as one posted from a page.
import { Controller, Route, json, status, type Context } from 'vela';
import { CommentFeed } from './comment-feed.js';
import { CommentStore, commentProblem } from './comment-store.js';

@Controller({ prefix: '/api' })
export class CommentsController {
  constructor(
    private readonly comments: CommentStore,
    private readonly feed: CommentFeed,
  ) {}

  @Route('/comments')
  index() {
    return json(this.comments.all());
  }

  @Route('/comments', { methods: ['post'] })
  async create(ctx: Context) {
    const { text } = (ctx.request.body ?? {}) as Record<string, unknown>;
    const problem = commentProblem(text);
    if (problem) return status(422, { body: { error: problem } });
    return json(await this.feed.post(text as string));
  }
}
