// The blog's sessions in its SQLite file, so a restart of `npm start` signs no one out: a comment
// written while the server was down is posted, as its author, when it is back. Vela's SessionStore
// contract (test/session/store-contract.ts runs against it); its own connection to the file, since
// bootstrap needs the store before the app's providers (BlogDatabase) open. Bounded: at most
// MAX_ANONYMOUS visitors' sessions (a CSRF token of the sign-in form), the oldest dropped first, and
// signed-in sessions are never dropped for them, so a flood of visitors cannot sign anyone out.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { SaveOptions, SessionData, SessionStore } from 'vela';

export const MAX_ANONYMOUS = 10_000;

export interface SqliteSessionStoreOptions {
  /** The clock, in ms (tests move it). */
  now?: () => number;
  maxAnonymous?: number;
}

export class SqliteSessionStore implements SessionStore {
  readonly name = 'sqlite';
  readonly #db: Database.Database;
  readonly #now: () => number;
  readonly #maxAnonymous: number;

  constructor(file: string, { now = Date.now, maxAnonymous = MAX_ANONYMOUS }: SqliteSessionStoreOptions = {}) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.#db = new Database(file);
    this.#db.pragma('journal_mode = WAL');
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, data TEXT NOT NULL, expires INTEGER NOT NULL, anonymous INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS sessions_by_age ON sessions (anonymous, expires);
      CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    `);
    this.#now = now;
    this.#maxAnonymous = maxAnonymous;
  }

  async load(id: string): Promise<SessionData | undefined> {
    const row = this.#db.prepare('SELECT data FROM sessions WHERE id = ? AND expires > ?').get(id, this.#now()) as { data: string } | undefined;
    return row && (JSON.parse(row.data) as SessionData);
  }

  async save(id: string, data: SessionData, ttlMs: number, { anonymous = false }: SaveOptions = {}): Promise<void> {
    const now = this.#now();
    this.#db.transaction(() => {
      this.#db.prepare('DELETE FROM sessions WHERE expires <= ?').run(now);
      if (anonymous && !this.#db.prepare('SELECT 1 FROM sessions WHERE id = ?').get(id)) this.#makeRoomForAnonymous();
      this.#db
        .prepare('INSERT INTO sessions (id, data, expires, anonymous) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET data = excluded.data, expires = excluded.expires, anonymous = excluded.anonymous')
        .run(id, JSON.stringify(data), now + ttlMs, anonymous ? 1 : 0);
    })();
  }

  async update(id: string, data: SessionData, ttlMs: number): Promise<boolean> {
    const now = this.#now();
    return this.#db.prepare('UPDATE sessions SET data = ?, expires = ? WHERE id = ? AND expires > ?').run(JSON.stringify(data), now + ttlMs, id, now).changes > 0;
  }

  async touch(id: string, ttlMs: number): Promise<void> {
    const now = this.#now();
    this.#db.prepare('UPDATE sessions SET expires = ? WHERE id = ? AND expires > ?').run(now + ttlMs, id, now);
  }

  async destroy(id: string): Promise<void> {
    this.#db.prepare('DELETE FROM sessions WHERE id = ?').run(id);
  }

  /** Made once and kept in the file: cookies signed before a restart are still accepted after it. */
  async secret(): Promise<string> {
    this.#db.prepare(`INSERT OR IGNORE INTO settings (key, value) VALUES ('session_secret', ?)`).run(randomBytes(32).toString('base64url'));
    return (this.#db.prepare(`SELECT value FROM settings WHERE key = 'session_secret'`).get() as { value: string }).value;
  }

  close(): void {
    this.#db.close();
  }

  /** Drops the anonymous sessions closest to expiry until one more fits. */
  #makeRoomForAnonymous(): void {
    const { n } = this.#db.prepare('SELECT count(*) AS n FROM sessions WHERE anonymous = 1').get() as { n: number };
    if (n < this.#maxAnonymous) return;
    this.#db.prepare('DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE anonymous = 1 ORDER BY expires LIMIT ?)').run(n - this.#maxAnonymous + 1);
  }
}
