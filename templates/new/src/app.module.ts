// The app: what it routes, which sockets it accepts, what it injects.
import { Module } from 'vela';
import { EchoGateway } from './echo.gateway.js';
import { Greeter } from './greeter.js';
import { HelloController } from './hello.controller.js';

@Module({
  controllers: [HelloController],
  gateways: [EchoGateway],
  providers: [Greeter],
})
export class AppModule {}
