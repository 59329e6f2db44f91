// The blog's users, in the blog's SQLite database: they survive a restart. Two are seeded with
// passwords the README gives (Ada / ada-pass, Joe / joe-pass), so the sign-in works out of the box;
// users created over /api/users have no password and cannot sign in.
import { Injectable, type OnInit } from 'vela';
import { BlogDatabase } from '../data/blog-database.js';
import { hashPassword, passwordMatches } from './passwords.js';

export interface User {
  id: number;
  name: string;
  email: string;
}

/** Seeded on a fresh database; the passwords are documented, this is a demo. */
export const SEEDED_USERS = [
  { name: 'Ada', email: 'ada@example.com', password: 'ada-pass' },
  { name: 'Joe', email: 'joe@example.com', password: 'joe-pass' },
] as const;

/** A hash no password matches: compared against when the name is unknown, so timing does not tell names apart. */
const NO_USER_HASH = 'scrypt$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';

@Injectable()
export class UserStore implements OnInit {
  constructor(private readonly database: BlogDatabase) {}

  /** After BlogDatabase.onInit (a dependency starts first): the seeded users, once, with their passwords. */
  async onInit(): Promise<void> {
    const { db } = this.database;
    const { n } = db.prepare('SELECT count(*) AS n FROM users').get() as { n: number };
    if (n === 0) for (const { name, email } of SEEDED_USERS) this.add({ name, email });
    // Also for a database from before passwords existed: its Ada and Joe get theirs.
    for (const { name, password } of SEEDED_USERS) {
      const user = this.#byName(name);
      if (user && !db.prepare('SELECT 1 FROM passwords WHERE user_id = ?').get(user.id)) {
        db.prepare('INSERT INTO passwords (user_id, hash) VALUES (?, ?)').run(user.id, await hashPassword(password));
      }
    }
  }

  all(): User[] {
    return this.database.db.prepare('SELECT id, name, email FROM users ORDER BY id').all() as User[];
  }

  get(id: number): User | undefined {
    return this.database.db.prepare('SELECT id, name, email FROM users WHERE id = ?').get(id) as User | undefined;
  }

  add(fields: Omit<User, 'id'>): User {
    const { lastInsertRowid } = this.database.db.prepare('INSERT INTO users (name, email) VALUES (?, ?)').run(fields.name, fields.email);
    return { id: Number(lastInsertRowid), ...fields };
  }

  /** The user with this name (any case) or email and this password; undefined otherwise. */
  async signIn(nameOrEmail: string, password: string): Promise<User | undefined> {
    const user = this.#byName(nameOrEmail);
    const row = user && (this.database.db.prepare('SELECT hash FROM passwords WHERE user_id = ?').get(user.id) as { hash: string } | undefined);
    const matches = await passwordMatches(password, row?.hash ?? NO_USER_HASH);
    return matches && row ? user : undefined;
  }

  #byName(nameOrEmail: string): User | undefined {
    return this.database.db
      .prepare('SELECT id, name, email FROM users WHERE lower(name) = lower(?) OR lower(email) = lower(?) ORDER BY id LIMIT 1')
      .get(nameOrEmail, nameOrEmail) as User | undefined;
  }
}
