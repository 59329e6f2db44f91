// The blog's users, kept in memory: enough to show injection without a database.
import { Injectable } from 'vela';

export interface User {
  id: number;
  name: string;
  email: string;
}

@Injectable()
export class UserStore {
  readonly #users = new Map<number, User>();
  #nextId = 1;

  constructor() {
    this.add({ name: 'Ada', email: 'ada@example.com' });
    this.add({ name: 'Joe', email: 'joe@example.com' });
  }

  all(): User[] {
    return [...this.#users.values()];
  }

  get(id: number): User | undefined {
    return this.#users.get(id);
  }

  add(fields: Omit<User, 'id'>): User {
    const user = { id: this.#nextId++, ...fields };
    this.#users.set(user.id, user);
    return user;
  }
}
