/**
 * Device-state snapshots in PostgreSQL: the same answers as the SQLite store. The table refers
 * to devices (ON DELETE CASCADE), so TWIN_PG_SCHEMA must be migrated after DEVICES_PG_SCHEMA
 * (migratePostgres applies schemas in the order given).
 */
import type { PgSchema } from '../storage/postgres/migrate.ts';
import { postgresError, type Postgres } from '../storage/postgres/postgres.ts';
import { isoToMs } from '../storage/sqlite/time.ts';
import type { DeviceStateSnapshot } from '../storage/types.ts';
import type { TwinStore } from './store.ts';

export const TWIN_PG_SCHEMA: PgSchema = {
  feature: 'twin',
  steps: [
    `
    CREATE TABLE device_states (
      device     text COLLATE "C" PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
      state      jsonb       NOT NULL,
      updated_at timestamptz NOT NULL
    );
    `,
    // Workers read what the holders of other sites wrote since their last look (Twin.mirrorOthers).
    'CREATE INDEX device_states_updated_at ON device_states (updated_at);',
  ],
};

export class PostgresTwinStore implements TwinStore {
  constructor(private readonly pg: Postgres) {}

  async saveDeviceStates(states: readonly DeviceStateSnapshot[]): Promise<void> {
    // The last snapshot of a device given twice wins, as in SQLite (one statement cannot
    // update a row twice).
    states = [...new Map(states.map((s) => [s.device, s])).values()];
    if (states.length === 0) return;
    const at = states.map((s) => new Date(isoToMs(s.updatedAt, 'updatedAt')));
    try {
      // One statement: the batch is one transaction. The join skips devices not registered;
      // ORDER BY takes row locks in one order, so two workers saving overlapping batches
      // cannot deadlock.
      await this.pg.query(
        `INSERT INTO device_states (device, state, updated_at)
         SELECT s.device, s.state, s.updated_at FROM unnest($1::text[], $2::jsonb[], $3::timestamptz[]) AS s(device, state, updated_at)
         JOIN devices d ON d.id = s.device
         ORDER BY s.device
         ON CONFLICT (device) DO UPDATE SET state = EXCLUDED.state, updated_at = EXCLUDED.updated_at`,
        [states.map((s) => s.device), states.map((s) => JSON.stringify(s.state)), at],
      );
    } catch (err) {
      throw postgresError(err, 'save the twin state', this.pg.safeUrl);
    }
  }

  async loadDeviceStates(opts: { updatedAfter?: string } = {}): Promise<DeviceStateSnapshot[]> {
    let rows: Array<{ device: string; state: Record<string, unknown>; updated_at: Date }>;
    const after = opts.updatedAfter === undefined ? null : new Date(isoToMs(opts.updatedAfter, 'updatedAfter'));
    try {
      ({ rows } = await this.pg.query<{ device: string; state: Record<string, unknown>; updated_at: Date }>(
        'SELECT device, state, updated_at FROM device_states WHERE $1::timestamptz IS NULL OR updated_at > $1 ORDER BY device',
        [after],
      ));
    } catch (err) {
      throw postgresError(err, 'read the twin state', this.pg.safeUrl);
    }
    return rows.map((r) => ({ device: r.device, state: r.state, updatedAt: r.updated_at.toISOString() }));
  }
}
