// Comments over HTTP: the page loads the history, and a comment posted here (a script, a job, with
// the CSRF token from /api/csrf-token in x-csrf-token) reaches every open comments socket through
// the same channel the gateway uses.
import { Controller, PubSub, Route, json, status, type Context } from 'vela';
import { CommentStore } from './comment-store.js';

@Controller({ prefix: '/api' })
export class CommentsController {
  constructor(
    private readonly comments: CommentStore,
    private readonly pubsub: PubSub,
  ) {}

  @Route('/comments')
  index() {
    return json(this.comments.all());
  }

  @Route('/comments', { methods: ['post'] })
  async create(ctx: Context) {
    const { text } = (ctx.request.body ?? {}) as Record<string, unknown>;
    const comment = typeof text === 'string' ? this.comments.add(text) : undefined;
    if (!comment) return status(422, { body: { error: 'text must be a non-empty string' } });
    await this.pubsub.broadcast('comments', 'new_comment', comment.text);
    return json(comment);
  }
}
