/** Broker password lines in SQLite (see password-store.ts). */
import type { Database } from '../../storage/sqlite/database.ts';
import type { BrokerPassword, BrokerPasswordLine, BrokerPasswordStore } from './password-store.ts';

interface Row {
  username: string;
  verifier: string;
  hash: string;
  created_at: number;
}

/**
 * Writes lines on `db` inside the caller's transaction (the device and account stores call it
 * in theirs). A line for the same (username, verifier) replaces the older one.
 */
export function insertBrokerPasswordLines(db: Database, lines: readonly BrokerPasswordLine[]): void {
  if (lines.length === 0) return;
  const insert = db.prepare<[string, string, string, number]>('INSERT OR REPLACE INTO broker_passwords (username, verifier, hash, created_at) VALUES (?, ?, ?, ?)');
  for (const l of lines) insert.run(l.username, l.verifier, l.hash, l.createdAt);
}

export class SqliteBrokerPasswordStore implements BrokerPasswordStore {
  constructor(
    private readonly db: Database,
    private readonly now: () => number = Date.now,
  ) {}

  async list(): Promise<BrokerPassword[]> {
    const rows = this.db.prepare<[], Row>('SELECT username, verifier, hash, created_at FROM broker_passwords ORDER BY username, created_at DESC, verifier').all();
    return rows.map((r) => ({ username: r.username, verifier: r.verifier, hash: r.hash, createdAt: r.created_at }));
  }

  async fingerprint(): Promise<string> {
    const { n, latest } = this.db.prepare<[], { n: number; latest: number | null }>('SELECT count(*) AS n, max(created_at) AS latest FROM broker_passwords').get()!;
    return `${n}:${latest ?? 0}`;
  }

  async prune(stale: readonly BrokerPassword[], graceMs: number): Promise<number> {
    const cutoff = this.now() - graceMs;
    const remove = this.db.prepare<[string, string, number]>('DELETE FROM broker_passwords WHERE username = ? AND verifier = ? AND created_at < ?');
    return this.db.transaction(() => {
      let removed = 0;
      for (const p of stale) if (p.createdAt < cutoff) removed += remove.run(p.username, p.verifier, cutoff).changes;
      return removed;
    }).immediate();
  }
}
