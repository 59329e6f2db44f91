// The seeds' public group (`/login`, `/heartbeat`) and the login-protected group (`POST /`).
import { Controller, Route, json, status, type Context } from 'vela';
import { usernamePassword } from './auth.js';

const LOGIN_FORM = `<!doctype html>
<html><head><meta charset="utf-8"><title>Log in</title></head>
<body>
  <form method="post" action="/">
    <label>Username <input name="username"></label>
    <label>Password <input name="password" type="password"></label>
    <button>Log in</button>
  </form>
</body></html>`;

@Controller()
export class MainController {
  @Route('/login')
  login() {
    return status(200, { body: LOGIN_FORM, headers: { 'content-type': 'text/html; charset=utf-8' } });
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

@Controller({ security: usernamePassword })
export class DashboardController {
  @Route('/', { methods: ['post'] })
  index(ctx: Context) {
    const { username } = ctx.state.auth as { username: string };
    return json({ message: `Welcome, ${username}!` }, { status: 200 });
  }
}
