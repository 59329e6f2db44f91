// The blog app: the seeds' routes, one module, one fallback for every controller.
import { FallbackController, Module } from 'vela';
import { BlogFallback } from './blog.fallback.js';
import { DashboardController, MainController } from './main.controller.js';
import { UserStore } from './users/user-store.js';
import { UsersController } from './users/users.controller.js';

@FallbackController(BlogFallback)
@Module({
  controllers: [MainController, DashboardController, UsersController],
  providers: [UserStore],
})
export class AppModule {}
