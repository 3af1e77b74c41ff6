/**
 * Snapshot rows in SQLite (table `snapshots`, migration 3). better-sqlite3 is synchronous: each
 * method runs its one statement and returns a settled promise.
 */
import type { Statement } from 'better-sqlite3';
import type { Database } from '../storage/sqlite/database.ts';
import type { SnapshotRecord, SnapshotRowStore } from './store.ts';

interface Row {
  id: string;
  site: string;
  camera: string;
  bytes: number;
  taken_at: number;
}

const fromRow = (row: Row): SnapshotRecord => ({ id: row.id, site: row.site, camera: row.camera, bytes: row.bytes, takenAt: new Date(row.taken_at).toISOString() });

function settle<T>(body: () => T): Promise<T> {
  try {
    return Promise.resolve(body());
  } catch (err) {
    return Promise.reject(err as Error);
  }
}

export class SqliteSnapshotRowStore implements SnapshotRowStore {
  private readonly s: {
    upsert: Statement<{ id: string; site: string; camera: string; bytes: number; at: number }, Row>;
    get: Statement<[string], Row>;
    expired: Statement<[number, number], { id: string }>;
    remove: Statement<[string, number]>;
  };

  constructor(db: Database) {
    this.s = {
      upsert: db.prepare(
        `INSERT INTO snapshots (id, site, camera, bytes, taken_at) VALUES (@id, @site, @camera, @bytes, @at)
         ON CONFLICT (id) DO UPDATE SET taken_at = max(taken_at, excluded.taken_at)
         RETURNING id, site, camera, bytes, taken_at`,
      ),
      get: db.prepare('SELECT id, site, camera, bytes, taken_at FROM snapshots WHERE id = ?'),
      expired: db.prepare('SELECT id FROM snapshots WHERE taken_at < ? ORDER BY taken_at, id LIMIT ?'),
      remove: db.prepare('DELETE FROM snapshots WHERE id = ? AND taken_at < ?'),
    };
  }

  upsert(row: { id: string; site: string; camera: string; bytes: number; takenAtMs: number }): Promise<SnapshotRecord> {
    return settle(() => fromRow(this.s.upsert.get({ id: row.id, site: row.site, camera: row.camera, bytes: row.bytes, at: row.takenAtMs })!));
  }

  get(id: string): Promise<SnapshotRecord | null> {
    return settle(() => {
      const row = this.s.get.get(id);
      return row === undefined ? null : fromRow(row);
    });
  }

  expired(cutoffMs: number, limit: number): Promise<string[]> {
    return settle(() => this.s.expired.all(cutoffMs, limit).map((r) => r.id));
  }

  removeExpired(id: string, cutoffMs: number): Promise<boolean> {
    return settle(() => this.s.remove.run(id, cutoffMs).changes > 0);
  }
}
