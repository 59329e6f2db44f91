// The blog app: posts with their live comments (one channel per post), sign-in, the seeds' echo
// socket and users API, server-rendered pages with the blog's own error pages; one module, one
// fallback for every controller and gateway.
import { FallbackController, Module, csrf, type BootstrapOptions } from 'vela';
import { BlogFallback } from './blog.fallback.js';
import { EchoGateway } from './echo.gateway.js';
import { ErrorsController } from './errors.controller.js';
import { CommentFeed } from './comments/comment-feed.js';
import { CommentStore } from './comments/comment-store.js';
import { CommentsController } from './comments/comments.controller.js';
import { CommentsGateway } from './comments/comments.gateway.js';
import { MainController } from './main.controller.js';
import { SessionController } from './session/session.controller.js';
import { UserStore } from './users/user-store.js';
import { UsersController } from './users/users.controller.js';
import { PostStore } from './posts/post-store.js';
import { PostsController } from './posts/posts.controller.js';
import { BLOG_DB_FILE, BlogDatabase } from './data/blog-database.js';

@FallbackController(BlogFallback)
@Module({
  controllers: [MainController, SessionController, PostsController, CommentsController, UsersController, ErrorsController],
  gateways: [EchoGateway, CommentsGateway],
  // The stores depend on BlogDatabase: Vela opens it before them and closes it after them. In memory
  // unless told otherwise: main.ts gives `npm start` a file, tests get a fresh database each.
  providers: [UserStore, CommentStore, CommentFeed, PostStore, BlogDatabase, { provide: BLOG_DB_FILE, useValue: ':memory:' }],
  // A post page that lost its link for up to two minutes gets the comments it missed (or is told to reload).
  channels: { 'post:*': { history: { size: 1_000, ttl: 120_000 } } },
  // Paths are relative to the working directory: run the blog from the repository root.
  static: [{ prefix: '/assets', dir: 'example/blog/public' }],
})
export class AppModule {}

/** The blog's templates, relative to the repository root like its static files. */
export const BLOG_VIEWS = { dir: 'example/blog/views' };

/**
 * How the blog boots (main.ts and the tests): its views, the browser client at /vela/client.js for
 * its pages, csrf() on every route, as docs/plugins.md recommends: a form or script on another site
 * cannot post to the blog (its sign-in, comments, or `/api/users` and `/api/posts/:id/comments`), and its API
 * documents at /docs/openapi.json and /docs/asyncapi.json.
 */
export const BLOG_OPTIONS = {
  views: BLOG_VIEWS,
  client: true,
  middleware: [csrf()],
  docs: { path: '/docs', info: { title: 'Vela blog', version: '1.0.0' } },
} satisfies BootstrapOptions;

/**
 * `VELA_METRICS=1 npm start` serves Vela's metrics at /metrics for Prometheus to scrape, from a
 * MeterProvider of Vela's own (@opentelemetry/sdk-metrics and @opentelemetry/exporter-prometheus
 * must be installed: they are dev dependencies here). With `VELA_METRICS_TOKEN` set, a scrape must
 * send it as `Authorization: Bearer <token>` (Prometheus's `authorization: { credentials }`).
 */
export function blogMetrics(env: NodeJS.ProcessEnv = process.env): BootstrapOptions['metrics'] {
  if (env.VELA_METRICS !== '1') return undefined;
  const token = env.VELA_METRICS_TOKEN;
  return { path: '/metrics', security: token ? (ctx) => ctx.get('authorization') === `Bearer ${token}` : false };
}
