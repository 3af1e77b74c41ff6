/** Settings on SQLite (table settings, migration 2). */
import type { Statement } from 'better-sqlite3';
import type { Database } from '../storage/sqlite/database.ts';
import type { SettingsStore } from './store.ts';

export class SqliteSettingsStore implements SettingsStore {
  private readonly stmt: { get: Statement<[string], { value: string }>; set: Statement<[string, string]>; remove: Statement<[string]> };

  constructor(private readonly db: Database) {
    this.stmt = {
      get: db.prepare('SELECT value FROM settings WHERE key = ?'),
      set: db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
      remove: db.prepare('DELETE FROM settings WHERE key = ?'),
    };
  }

  async get(key: string): Promise<string | null> {
    return this.read(key);
  }

  async set(key: string, value: string | null): Promise<void> {
    this.write(key, value);
  }

  async compareAndSet(key: string, expected: string | null, value: string | null): Promise<boolean> {
    return this.db.transaction(() => {
      if (this.read(key) !== expected) return false;
      this.write(key, value);
      return true;
    }).immediate();
  }

  private read(key: string): string | null {
    return this.stmt.get.get(key)?.value ?? null;
  }

  private write(key: string, value: string | null): void {
    if (value === null) this.stmt.remove.run(key);
    else this.stmt.set.run(key, value);
  }
}
