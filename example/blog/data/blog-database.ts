// The blog's SQLite database (better-sqlite3: embedded, so `npm start` needs no server). Opened in
// onInit, before the port opens, and closed in onClose, after the last socket's terminate and the
// last request: the stores that use it are its dependents, so Vela starts them after it and stops
// them before it.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { Inject, Injectable, InjectionToken, LOGGER, type HealthCheck, type Logger, type OnClose, type OnInit } from 'vela';
import { upgradeSchema } from './schema.js';

/** The database file, or `':memory:'` (the module's default: every test app starts empty). */
export const BLOG_DB_FILE = new InjectionToken<string>('BLOG_DB_FILE');

/** Where `npm start` keeps the blog's data: `example/data/blog.db` from the repository root, or under `BLOG_DATA_DIR`. */
export function blogDataFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.BLOG_DATA_DIR ?? 'example/data', 'blog.db');
}

@Injectable()
export class BlogDatabase implements OnInit, OnClose, HealthCheck {
  #db: Database.Database | undefined;

  constructor(
    @Inject(BLOG_DB_FILE) private readonly file: string,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** The open connection; only between onInit and onClose. */
  get db(): Database.Database {
    if (!this.#db) throw new Error('BlogDatabase is not open: use it from onInit on (list the store as its dependent), not in a constructor.');
    return this.#db;
  }

  onInit(): void {
    if (this.file !== ':memory:') mkdirSync(dirname(this.file), { recursive: true });
    this.#db = new Database(this.file);
    // WAL: a reader never waits on the writer, and a crash loses at most the last transaction.
    this.#db.pragma('journal_mode = WAL');
    upgradeSchema(this.#db);
    this.logger.info('blog database open', { file: this.file });
  }

  onClose(): void {
    this.#db?.close();
    this.#db = undefined;
    this.logger.info('blog database closed', { file: this.file });
  }

  healthCheck() {
    return { up: this.#db?.open === true, file: this.file };
  }
}
