/**
 * Camera snapshots, addressed by site and content: the id is the sha256 of the site id and the
 * JPEG (`snapshotId`), the file lives at `<dataDir>/snapshots/ab/abcdef….jpg` (two-hex-digit
 * fan-out keeps directories small) and a `snapshots` row records site, camera, size and time
 * for scoping and retention. A file is written to a temporary name and renamed into place, so
 * a reader (the API) never sees a partial picture; the same picture twice from one site is
 * stored once.
 *
 * The site is part of the id because two sites' cameras can send the very same bytes (a black
 * night frame, a test card). Keyed by content alone, the second site's alarm pointed at the
 * record of the first site, which the second site's users may not see: they got 404 for their
 * own picture (issue 9, item 12). Now each site has its own id, row, file and URL, and the
 * retention of one site's picture never removes another's.
 *
 * Retention: rows and files older than `retentionDays` (default 30) are deleted on an hourly
 * sweep driven by the Clock. An alarm older than that keeps its snapshot reference; the URL
 * then answers 404 STW_ERR_SNAPSHOT_NOT_FOUND.
 *
 * The rows live in the storage backend (SnapshotRowStore, ./store.ts: SQLite or PostgreSQL);
 * the files stay under the data directory, which several workers must share (a network or
 * cluster file system) for each to serve the pictures another stored.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { systemClock, type Clock } from '../clock.ts';
import type { SnapshotRecord, SnapshotRowStore } from './store.ts';

export type { SnapshotRecord } from './store.ts';

export const SNAPSHOT_ID = /^[0-9a-f]{64}$/;
const DAY_MS = 24 * 3600_000;

/**
 * sha256(site, NUL, jpeg). Site ids are `[a-z0-9-]`, never NUL, so no (site, bytes) pair can
 * spell another. Snapshots stored before this scheme keep their plain sha256 ids, which still
 * resolve: their row carries the site they were recorded under.
 */
export function snapshotId(site: string, jpeg: Buffer): string {
  return createHash('sha256').update(site).update('\0').update(jpeg).digest('hex');
}

export interface SnapshotStoreDeps {
  /** Where the rows are kept: createSnapshotRowStore(backend). */
  rows: SnapshotRowStore;
  /** Files go to `<dataDir>/snapshots/`. */
  dataDir: string;
  clock?: Clock;
  /** Default 30 days. */
  retentionDays?: number;
  /** Default one hour. */
  sweepEveryMs?: number;
  onError?: (err: unknown) => void;
}

export class SnapshotStore {
  private readonly clock: Clock;
  private cancelSweep: (() => void) | null = null;

  constructor(private readonly deps: SnapshotStoreDeps) {
    this.clock = deps.clock ?? systemClock;
  }

  get dir(): string {
    return path.join(this.deps.dataDir, 'snapshots');
  }

  /** Sweeps once now, then every `sweepEveryMs`. */
  start(): void {
    if (this.cancelSweep) return;
    const every = this.deps.sweepEveryMs ?? 3600_000;
    // The next sweep is scheduled before this one runs (not after it resolves), so a
    // ManualClock advanced over several hours runs every sweep that fell due.
    const schedule = () => {
      this.cancelSweep = this.clock.at(this.clock.now() + every, () => {
        schedule();
        void this.sweepOnce();
      });
    };
    schedule();
    void this.sweepOnce();
  }

  private sweeping = false;
  private sweepAgain = false;

  /** One sweep at a time (a slow disk must not pile sweeps up); one more if asked meanwhile. */
  private async sweepOnce(): Promise<void> {
    if (this.sweeping) {
      this.sweepAgain = true;
      return;
    }
    this.sweeping = true;
    try {
      do {
        this.sweepAgain = false;
        await this.sweep();
      } while (this.sweepAgain && this.cancelSweep);
    } finally {
      this.sweeping = false;
    }
  }

  stop(): void {
    this.cancelSweep?.();
    this.cancelSweep = null;
  }

  filePath(id: string): string {
    return path.join(this.dir, id.slice(0, 2), `${id}.jpg`);
  }

  /** Stores the JPEG (once per site and content) and records it under the site. */
  async put(input: { site: string; camera: string; jpeg: Buffer; takenAt: number }): Promise<SnapshotRecord> {
    const id = snapshotId(input.site, input.jpeg);
    const file = this.filePath(id);
    const exists = await stat(file).then(
      (s) => s.size === input.jpeg.length,
      () => false,
    );
    if (!exists) {
      await mkdir(path.dirname(file), { recursive: true });
      const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
      try {
        await writeFile(tmp, input.jpeg);
        await rename(tmp, file);
      } catch (err) {
        await rm(tmp, { force: true });
        throw err;
      }
    }
    // The same picture again (a frozen camera) refreshes its time, so retention counts from its last use.
    return this.deps.rows.upsert({ id, site: input.site, camera: input.camera, bytes: input.jpeg.length, takenAtMs: input.takenAt });
  }

  async get(id: string): Promise<SnapshotRecord | null> {
    if (!SNAPSHOT_ID.test(id)) return null;
    return this.deps.rows.get(id);
  }

  /** The JPEG bytes, or null if unknown or its file is gone. */
  async read(id: string): Promise<Buffer | null> {
    if (!(await this.get(id))) return null;
    try {
      return await readFile(this.filePath(id));
    } catch {
      return null;
    }
  }

  /** Deletes snapshots older than the retention; returns how many. */
  async sweep(): Promise<number> {
    const cutoff = this.clock.now() - (this.deps.retentionDays ?? 30) * DAY_MS;
    let removed = 0;
    try {
      for (;;) {
        const batch = await this.deps.rows.expired(cutoff, 1000);
        if (batch.length === 0) break;
        for (const id of batch) {
          // Row first, and only if still expired: a picture used again meanwhile keeps its file,
          // and of two workers sweeping at once only the one that removed the row removes the
          // file. A crash in between leaves a file without a row, which the same picture
          // stored again reuses.
          if (!(await this.deps.rows.removeExpired(id, cutoff))) continue;
          await rm(this.filePath(id), { force: true });
          removed++;
        }
      }
    } catch (err) {
      (this.deps.onError ?? ((e) => console.error('snapshot sweep failed', e)))(err);
    }
    return removed;
  }
}
