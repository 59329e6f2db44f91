// The blog's tables, in one place, and the upgrade of a database written by an older blog (one
// whose live comments were a page of their own, and whose post comments had no id or time), so an
// `example/data/blog.db` kept from before still opens. `PRAGMA user_version` says which schema a file has.
import type Database from 'better-sqlite3';

const VERSION = 1;

const TABLES = `
  CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, email TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS passwords (user_id INTEGER PRIMARY KEY REFERENCES users (id), hash TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS posts (id INTEGER PRIMARY KEY, title TEXT NOT NULL, body TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS comments (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    post_id INTEGER NOT NULL REFERENCES posts (id),
    author TEXT NOT NULL,
    text TEXT NOT NULL,
    at TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS comments_by_post ON comments (post_id, seq);
`;

/** Creates the tables, after moving the comments of an older blog's database into the new one. */
export function upgradeSchema(db: Database.Database): void {
  if ((db.pragma('user_version', { simple: true }) as number) >= VERSION) return;
  db.transaction(() => {
    const columns = (table: string) => (db.prepare(`SELECT name FROM pragma_table_info(?)`).all(table) as { name: string }[]).map((c) => c.name);
    // The old live comments page's comments (no post, no author) become the "Live comments" post's.
    const oldLive = columns('comments').length > 0 && !columns('comments').includes('post_id');
    if (oldLive) db.exec('ALTER TABLE comments RENAME TO old_live_comments');
    db.exec(TABLES);
    if (oldLive) {
      db.exec(`INSERT OR IGNORE INTO posts (id, title, body) VALUES (2, 'Live comments', '')`);
      db.exec(`INSERT INTO comments (id, post_id, author, text, at) SELECT id, 2, 'guest', text, at FROM old_live_comments ORDER BY seq`);
      db.exec('DROP TABLE old_live_comments');
    }
    if (columns('post_comments').length > 0) {
      db.exec(`INSERT INTO comments (id, post_id, author, text, at)
               SELECT lower(hex(randomblob(16))), post_id, author, text, strftime('%Y-%m-%dT%H:%M:%fZ') FROM post_comments ORDER BY seq`);
      db.exec('DROP TABLE post_comments');
    }
    db.pragma(`user_version = ${VERSION}`);
  })();
}
