/**
 * Where camera snapshots are recorded: one row per picture (site, camera, size, time) for
 * scoping and retention. The JPEG files themselves stay on disk under the data directory
 * (SnapshotStore, ./snapshot-store.ts): several workers need that directory on shared storage.
 *
 * Implementations: ./sqlite-store.ts, ./postgres-store.ts (SNAPSHOTS_PG_SCHEMA, migrated by the
 * app at start); createSnapshotRowStore picks one for a storage backend.
 */

export interface SnapshotRecord {
  id: string;
  site: string;
  camera: string;
  bytes: number;
  takenAt: string;
}

export interface SnapshotRowStore {
  /**
   * Records a picture under its id. The same id again (a frozen camera) keeps the later time,
   * so retention counts from its last use; site, camera and size stay as first recorded.
   */
  upsert(row: { id: string; site: string; camera: string; bytes: number; takenAtMs: number }): Promise<SnapshotRecord>;
  get(id: string): Promise<SnapshotRecord | null>;
  /** Up to `limit` ids taken before `cutoffMs`, oldest first (ties by id). */
  expired(cutoffMs: number, limit: number): Promise<string[]>;
  /** Deletes the row if it is still older than `cutoffMs` (not used again since it was listed); whether it did. */
  removeExpired(id: string, cutoffMs: number): Promise<boolean>;
}
