// bench/session-flood.mjs's app: one route that never touches its session and one static file, so
// what the flood costs is the session store's work on cookie-less requests and nothing else.
import { Controller, Module, Route, json } from 'vela';

@Controller()
export class HelloController {
  @Route('/hello')
  hello() {
    return json({ hello: 'world' });
  }
}

/** The app, serving `dir` under /assets (the bench writes one file there). */
export function helloModule(dir: string) {
  @Module({ controllers: [HelloController], static: [{ prefix: '/assets', dir }] })
  class AppModule {}
  return AppModule;
}
