/** Device-state snapshots on SQLite (table device_states, migration 2). */
import type { Statement } from 'better-sqlite3';
import type { Database } from '../storage/sqlite/database.ts';
import { isoToMs, msToIso } from '../storage/sqlite/time.ts';
import type { DeviceStateSnapshot } from '../storage/types.ts';
import type { TwinStore } from './store.ts';

interface Row {
  device: string;
  state: string;
  updated_at: number;
}

export class SqliteTwinStore implements TwinStore {
  private readonly save: Statement<[Row]>;
  private readonly load: Statement<[], Row>;
  private readonly loadAfter: Statement<[number], Row>;

  constructor(private readonly db: Database) {
    // A snapshot for a device deleted meanwhile (the twin flushes on a timer) is dropped rather
    // than failing the foreign key and with it the whole batch.
    this.save = db.prepare(
      `INSERT INTO device_states (device, state, updated_at)
       SELECT @device, @state, @updated_at WHERE EXISTS (SELECT 1 FROM devices WHERE id = @device)
       ON CONFLICT (device) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`,
    );
    this.load = db.prepare('SELECT device, state, updated_at FROM device_states ORDER BY device');
    this.loadAfter = db.prepare('SELECT device, state, updated_at FROM device_states WHERE updated_at > ? ORDER BY device');
  }

  async saveDeviceStates(states: readonly DeviceStateSnapshot[]): Promise<void> {
    const rows = states.map((s) => ({ device: s.device, state: JSON.stringify(s.state), updated_at: isoToMs(s.updatedAt, 'updatedAt') }));
    this.db.transaction(() => {
      for (const row of rows) this.save.run(row);
    }).immediate();
  }

  async loadDeviceStates(opts: { updatedAfter?: string } = {}): Promise<DeviceStateSnapshot[]> {
    const rows = opts.updatedAfter === undefined ? this.load.all() : this.loadAfter.all(isoToMs(opts.updatedAfter, 'updatedAfter'));
    return rows.map((r) => ({ device: r.device, state: JSON.parse(r.state) as Record<string, unknown>, updatedAt: msToIso(r.updated_at) }));
  }
}
