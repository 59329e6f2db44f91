// The seeds' `/api` group: list, show and create users. `show` returns Nova's
// `['error', 'not_found']` and lets the module's fallback turn it into a 404. Creating needs the
// CSRF token (csrf() runs on every route, BLOG_OPTIONS), from /api/csrf-token in x-csrf-token.
import { Controller, Route, json, status, type Context } from 'vela';
import { UserStore } from './user-store.js';

@Controller({ prefix: '/api' })
export class UsersController {
  constructor(private readonly users: UserStore) {}

  @Route('/users')
  index() {
    return json(this.users.all());
  }

  @Route('/users/:id')
  show(ctx: Context) {
    const user = this.users.get(Number(ctx.params.id));
    return user ? json(user) : ['error', 'not_found'];
  }

  @Route('/users', { methods: ['post'] })
  create(ctx: Context) {
    const { name, email } = (ctx.request.body ?? {}) as Partial<Record<string, unknown>>;
    if (typeof name !== 'string' || typeof email !== 'string') {
      return status(422, { body: { error: 'name and email are required strings' } });
    }
    return json(this.users.add({ name, email }));
  }
}
