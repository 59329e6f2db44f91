// A provider: one instance for the app, injected into whoever asks for it by type.
import { Injectable } from 'vela';

@Injectable()
export class Greeter {
  greet(name: string): string {
    return `Hello, ${name}!`;
  }
}
