/**
 * Snapshot rows in PostgreSQL, for several workers sharing one database: the same answers as
 * the SQLite store (tests/linkage/snapshot-store.contract.ts runs on both). The time is
 * timestamptz handed out as the same ISO string; ids are sha256 hex, compared byte-wise.
 */
import type pg from 'pg';
import type { PgSchema } from '../storage/postgres/migrate.ts';
import { postgresError, type Postgres } from '../storage/postgres/postgres.ts';
import type { SnapshotRecord, SnapshotRowStore } from './store.ts';

export const SNAPSHOTS_PG_SCHEMA: PgSchema = {
  feature: 'snapshots',
  steps: [
    `
    CREATE TABLE snapshots (
      id       text COLLATE "C" PRIMARY KEY,   -- sha256 hex of site and JPEG
      site     text        NOT NULL,
      camera   text        NOT NULL,
      bytes    integer     NOT NULL,
      taken_at timestamptz NOT NULL
    );
    CREATE INDEX snapshots_taken ON snapshots (taken_at, id);
    `,
  ],
};

type Row = { id: string; site: string; camera: string; bytes: number; taken_at: Date };

const fromRow = (row: Row): SnapshotRecord => ({ id: row.id, site: row.site, camera: row.camera, bytes: Number(row.bytes), takenAt: row.taken_at.toISOString() });
const iso = (ms: number): string => new Date(ms).toISOString();

export class PostgresSnapshotRowStore implements SnapshotRowStore {
  constructor(private readonly pg: Postgres) {}

  async upsert(row: { id: string; site: string; camera: string; bytes: number; takenAtMs: number }): Promise<SnapshotRecord> {
    // Two workers storing the same picture at once: one inserts, the other keeps the later time.
    const { rows } = await this.run<Row>(
      'record a snapshot',
      `INSERT INTO snapshots AS s (id, site, camera, bytes, taken_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (id) DO UPDATE SET taken_at = greatest(s.taken_at, EXCLUDED.taken_at)
       RETURNING id, site, camera, bytes, taken_at`,
      [row.id, row.site, row.camera, row.bytes, iso(row.takenAtMs)],
    );
    return fromRow(rows[0]!);
  }

  async get(id: string): Promise<SnapshotRecord | null> {
    const { rows } = await this.run<Row>('read a snapshot', 'SELECT id, site, camera, bytes, taken_at FROM snapshots WHERE id = $1', [id]);
    return rows[0] === undefined ? null : fromRow(rows[0]);
  }

  async expired(cutoffMs: number, limit: number): Promise<string[]> {
    const { rows } = await this.run<{ id: string }>('list expired snapshots', 'SELECT id FROM snapshots WHERE taken_at < $1 ORDER BY taken_at, id LIMIT $2', [iso(cutoffMs), limit]);
    return rows.map((r) => r.id);
  }

  async removeExpired(id: string, cutoffMs: number): Promise<boolean> {
    const { rowCount } = await this.run('remove a snapshot', 'DELETE FROM snapshots WHERE id = $1 AND taken_at < $2', [id, iso(cutoffMs)]);
    return (rowCount ?? 0) > 0;
  }

  private async run<R extends pg.QueryResultRow = pg.QueryResultRow>(doing: string, sql: string, params: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.pg.query<R>(sql, params);
    } catch (err) {
      throw postgresError(err, doing, this.pg.safeUrl);
    }
  }
}
