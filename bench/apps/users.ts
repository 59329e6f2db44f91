// The data every server of bench/http.mjs answers from: /users/42 is { id: 42, name: 'user 42' }
// out of the same Map, so no server's lookup costs more than another's.
export interface User {
  id: number;
  name: string;
}

export const USERS = new Map<string, User>(Array.from({ length: 100 }, (_, i) => [String(i + 1), { id: i + 1, name: `user ${i + 1}` }]));

/** The lookup both frameworks' UserStore inherit, each under its own @Injectable(). */
export class UserTable {
  get(id: string): User | undefined {
    return USERS.get(id);
  }
}
