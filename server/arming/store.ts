/**
 * Where arming overrides and maintenance windows are kept. ArmingService and
 * MaintenanceService hold what the rules and the alarm service ask on every evaluation in
 * memory; this store is only written through them and read at their start (and by the API's
 * lists, which may show what another worker wrote).
 *
 * Implementations: sqlite-store.ts (the `zone_arming` and `maintenance` tables of the SQLite
 * file) and postgres-store.ts (ARMING_PG_SCHEMA, feature 'arming', both tables); both pass
 * tests/arming/arming-store.contract.ts. Times are Unix ms.
 */

/** A manual override of a zone's schedule (one per zone), in force from `at` until `until` (null: until changed). */
export interface ArmingOverride {
  site: string;
  zone: string;
  armed: boolean;
  by: string;
  at: number;
  until: number | null;
}

export interface MaintenanceRecord {
  id: number;
  site: string;
  zone: string | null;
  device: string | null;
  by: string;
  reason: string | null;
  from: number;
  until: number;
}

export type NewMaintenanceRecord = Omit<MaintenanceRecord, 'id'>;

/** A change another worker made: to the overrides or the windows of one site, or (site null) to anything. */
export interface ArmingChange {
  part: 'overrides' | 'windows';
  site: string | null;
}

export interface ArmingStore {
  /** Every override, in force or lapsed, of these sites (all when omitted), by (site, zone). */
  overrides(sites?: readonly string[]): Promise<ArmingOverride[]>;
  /** Sets the zone's override, replacing the one it had. */
  setOverride(override: ArmingOverride): Promise<void>;
  /** Drops the zone's override; false when it had none. */
  removeOverride(site: string, zone: string): Promise<boolean>;

  /** Records a window; ids grow. A window needs a zone or a device (the table refuses neither). */
  insertWindow(window: NewMaintenanceRecord): Promise<MaintenanceRecord>;
  getWindow(id: number): Promise<MaintenanceRecord | null>;
  /** Windows not over at `atMs` (until > atMs: in force or upcoming), of these sites or all, by (from, id). */
  openWindows(atMs: number, sites?: readonly string[]): Promise<MaintenanceRecord[]>;
  /**
   * Ends a window at `atMs` (an upcoming one at its start, so from ≤ until) if it is not over
   * yet, in one statement; answers the window as it is afterwards, or null when there is none.
   */
  endWindow(id: number, atMs: number): Promise<MaintenanceRecord | null>;

  /**
   * Hears changes written through OTHER processes (PostgreSQL: LISTEN/NOTIFY, every write
   * announced in its transaction; after a lost connection, `site: null` for both parts).
   * Absent on SQLite: the server is the file's only writer of these tables (the CLI does not
   * write them). Resolves, once listening, to the unsubscribe: a load after it misses nothing.
   */
  onChange?(listener: (change: ArmingChange) => void): Promise<() => void>;
}
