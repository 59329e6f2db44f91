// The blog app: the seeds' routes, echo socket and live comments, server-rendered posts; one
// module, one fallback for every controller and gateway.
import { FallbackController, Module, csrf, type BootstrapOptions } from 'vela';
import { BlogFallback } from './blog.fallback.js';
import { EchoGateway } from './echo.gateway.js';
import { ChatGateway } from './comments/chat.gateway.js';
import { CommentFeed } from './comments/comment-feed.js';
import { CommentStore } from './comments/comment-store.js';
import { CommentsController } from './comments/comments.controller.js';
import { CommentsGateway } from './comments/comments.gateway.js';
import { DashboardController, MainController } from './main.controller.js';
import { UserStore } from './users/user-store.js';
import { UsersController } from './users/users.controller.js';
import { PostStore } from './posts/post-store.js';
import { PostsController } from './posts/posts.controller.js';

@FallbackController(BlogFallback)
@Module({
  controllers: [MainController, DashboardController, UsersController, CommentsController, PostsController],
  gateways: [EchoGateway, CommentsGateway, ChatGateway],
  providers: [UserStore, CommentStore, CommentFeed, PostStore],
  // A page that lost its link for up to two minutes gets the comments it missed (or is told to reload).
  channels: { comments: { history: { size: 1_000, ttl: 120_000 } } },
  // Paths are relative to the working directory: run the blog from the repository root.
  static: [{ prefix: '/assets', dir: 'example/blog/public' }],
})
export class AppModule {}

/** The blog's templates, relative to the repository root like its static files. */
export const BLOG_VIEWS = { dir: 'example/blog/views' };

/**
 * How the blog boots (main.ts and the tests): its views, the browser client at /vela/client.js for
 * its pages, csrf() on every route, as the README recommends: a form or script on another site
 * cannot post to the blog (its login, comments, or `/api/users` and `/api/comments`), and its API
 * documents at /docs/openapi.json and /docs/asyncapi.json.
 */
export const BLOG_OPTIONS = {
  views: BLOG_VIEWS,
  client: true,
  middleware: [csrf()],
  docs: { path: '/docs', info: { title: 'Vela blog', version: '1.0.0' } },
} satisfies BootstrapOptions;
