// The blog's error pages, for the whole app (a controller without prefix): a browser gets a page
// in the blog's layout, an API client JSON. Which one follows `Accept`: JSON unless the client
// prefers HTML, as browsers say they do, so curl and fetch() get JSON.
import { STATUS_CODES } from 'node:http';
import { Controller, HttpError, Route, json, ok, type Context } from 'vela';
import { pageVars } from './auth.js';

/** What each page tells a reader to do about it. */
const ADVICE: Record<number, string> = {
  401: 'Sign in, then try again.',
  403: 'The form was too old or came from another site. Go back, reload the page and send it again.',
  404: 'The page may have moved, or the address has a typo.',
  500: 'Something broke on our side. It is logged; try again in a moment.',
};

/** Whether to answer `ctx` with a page rather than JSON: a browser, not under /api. */
export const wantsHtml = (ctx: Context) => ctx.accepts('json', 'html') === 'html' && !ctx.path.startsWith('/api/');

function errorPage(ctx: Context, code: number, body: Record<string, unknown>) {
  if (!wantsHtml(ctx)) return json(body);
  const title = STATUS_CODES[code] ?? `Error ${code}`;
  return ok(pageVars(ctx, { title, code, advice: ADVICE[code] }), { view: 'errors/page' });
}

@Controller()
export class ErrorsController {
  @Route(404)
  notFound(ctx: Context) {
    return errorPage(ctx, 404, { error: 'not found', path: ctx.path });
  }

  @Route(403)
  forbidden(ctx: Context, error: HttpError) {
    return errorPage(ctx, 403, { error: error.expose ? error.message : 'forbidden' });
  }

  @Route(500)
  failed(ctx: Context) {
    return errorPage(ctx, 500, { error: 'internal server error' });
  }
}
