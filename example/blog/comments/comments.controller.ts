// Comments over HTTP: the page loads the history, and a comment posted here (a script, a job, with
// the CSRF token from /api/csrf-token in x-csrf-token) reaches every open comments socket through
// the same channel, in the same shape, as one posted from a page.
import { Controller, Route, json, type Context, type Valid } from 'vela';
import { CommentFeed } from './comment-feed.js';
import { CommentStore, NewComment } from './comment-store.js';

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

  /** `{ text }`, checked by NewComment: a blank or too long text is a 400 listing the issues. */
  @Route('/comments', { methods: ['post'], body: NewComment })
  async create(_ctx: Context, { body }: Valid<{ body: typeof NewComment }>) {
    return json(await this.feed.post(body.text));
  }
}
