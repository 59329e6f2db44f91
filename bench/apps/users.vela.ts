// bench/http.mjs's Vela server: a plain JSON API with an injected store, two routes, written as a
// user writes it. The bench bootstraps it twice over: with sessions, request log and logger off
// ("vela"), and with bootstrap's defaults ("vela-defaults").
import { Controller, Injectable, Module, Route, json, status, type Context } from 'vela';
import { UserTable } from './users.js';

@Injectable()
export class UserStore extends UserTable {}

@Controller()
export class UsersController {
  constructor(private readonly users: UserStore) {}

  @Route('/hello', { methods: ['get'] })
  hello() {
    return json({ hello: 'world' });
  }

  @Route('/users/:id', { methods: ['get'] })
  show(ctx: Context) {
    const user = this.users.get(ctx.params.id);
    return user ? json(user) : status(404, { body: { error: 'not found' } });
  }
}

@Module({ controllers: [UsersController], providers: [UserStore] })
export class AppModule {}
