// The seeds' `/api` group: list, show and create users. `show` returns Nova's
// `['error', 'not_found']` and lets the module's fallback turn it into a 404. Creating needs the
// CSRF token (csrf() runs on every route, BLOG_OPTIONS), from /api/csrf-token in x-csrf-token, and a
// body that passes NewUser.
import { z } from 'zod';
import { Controller, Route, json, type Context, type Valid } from 'vela';
import { UserStore } from './user-store.js';

/** A new user: a name (trimmed, not blank) and an email address. */
export const NewUser = z.object({ name: z.string().trim().min(1).max(100), email: z.email() });

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

  /** `{ name, email }`: anything else is a 400 listing what to fix. */
  @Route('/users', { methods: ['post'], body: NewUser })
  create(_ctx: Context, { body }: Valid<{ body: typeof NewUser }>) {
    return json(this.users.add(body));
  }
}
