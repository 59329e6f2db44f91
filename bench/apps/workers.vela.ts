// bench/workers.mjs's app: the HTTP bench's routes (users.vela.ts) and the echo gateway
// (echo.vela.ts) in one module, run in one process or on `vela start` workers.
import { Module } from 'vela';
import { AppModule } from './users.vela.js';
import { EchoModule } from './echo.vela.js';

@Module({ imports: [AppModule, EchoModule] })
export class WorkersModule {}
