// The blog's users, in the blog's SQLite database: they survive a restart.
import { Injectable, type OnInit } from 'vela';
import { BlogDatabase } from '../data/blog-database.js';

export interface User {
  id: number;
  name: string;
  email: string;
}

@Injectable()
export class UserStore implements OnInit {
  constructor(private readonly database: BlogDatabase) {}

  /** After BlogDatabase.onInit (a dependency starts first): the table, and two users on a fresh database. */
  onInit(): void {
    const { db } = this.database;
    db.exec('CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, email TEXT NOT NULL)');
    const { n } = db.prepare('SELECT count(*) AS n FROM users').get() as { n: number };
    if (n > 0) return;
    this.add({ name: 'Ada', email: 'ada@example.com' });
    this.add({ name: 'Joe', email: 'joe@example.com' });
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
}
