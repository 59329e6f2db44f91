// bench/http.mjs's NestJS peer: the same two routes and injected store as apps/users.vela.ts, as a
// Nest user writes them (Express underneath, its defaults left on).
import 'reflect-metadata';
import { Controller, Get, HttpException, Injectable, Module, Param } from '@nestjs/common';
import { UserTable } from './users.js';

@Injectable()
export class UserStore extends UserTable {}

@Controller()
export class UsersController {
  constructor(private readonly users: UserStore) {}

  @Get('hello')
  hello() {
    return { hello: 'world' };
  }

  @Get('users/:id')
  show(@Param('id') id: string) {
    const user = this.users.get(id);
    if (!user) throw new HttpException({ error: 'not found' }, 404);
    return user;
  }
}

@Module({ controllers: [UsersController], providers: [UserStore] })
export class AppModule {}
