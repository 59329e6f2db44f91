// The seeds' public group (`/` live comments page, `/login`, `/heartbeat`) and the login-protected
// group (`POST /`). Both groups run csrf(): the login form carries the token, and a POST without it
// is refused with 403 before the password is even looked at.
import { Controller, Route, csrf, json, ok, status, type Context } from 'vela';
import { usernamePassword } from './auth.js';

@Controller({ middleware: [csrf()] })
export class MainController {
  @Route('/')
  index() {
    return ok({}); // views/main/index.liquid
  }

  @Route('/login')
  login(ctx: Context) {
    return ok({ failed: ctx.query.failed === '1' }); // views/main/login.liquid
  }

  @Route('/heartbeat')
  heartbeat() {
    return status(200);
  }

  @Route(404)
  notFound(ctx: Context) {
    return json({ error: 'not found', path: ctx.path });
  }
}

@Controller({ security: usernamePassword, middleware: [csrf()] })
export class DashboardController {
  @Route('/', { methods: ['post'] })
  index(ctx: Context) {
    const { username } = ctx.state.auth as { username: string };
    return json({ message: `Welcome, ${username}!` }, { status: 200 });
  }
}
