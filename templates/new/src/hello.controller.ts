// HTTP routes: a controller method returns a result, here JSON.
import { Controller, Route, json, type Context } from 'vela';
import { Greeter } from './greeter.js';

@Controller({ prefix: '/hello' })
export class HelloController {
  constructor(private readonly greeter: Greeter) {}

  @Route('/:name')
  greet(ctx: Context) {
    return json({ greeting: this.greeter.greet(ctx.params.name!) });
  }
}
