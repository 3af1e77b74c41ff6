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
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Statement } from 'better-sqlite3';
import { systemClock, type Clock } from '../clock.ts';
import type { Database } from '../storage/sqlite/database.ts';

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

export interface SnapshotRecord {
  id: string;
  site: string;
  camera: string;
  bytes: number;
  takenAt: string;
}

export interface SnapshotStoreDeps {
  db: Database;
  /** Files go to `<dataDir>/snapshots/`. */
  dataDir: string;
  clock?: Clock;
  /** Default 30 days. */
  retentionDays?: number;
  /** Default one hour. */
  sweepEveryMs?: number;
  onError?: (err: unknown) => void;
}

interface Row {
  id: string;
  site: string;
  camera: string;
  bytes: number;
  taken_at: number;
}

export class SnapshotStore {
  private readonly clock: Clock;
  private cancelSweep: (() => void) | null = null;
  private stmts: {
    upsert: Statement<{ id: string; site: string; camera: string; bytes: number; at: number }>;
    get: Statement<[string], Row>;
    expired: Statement<[number], { id: string }>;
    remove: Statement<[string]>;
  } | null = null;

  constructor(private readonly deps: SnapshotStoreDeps) {
    this.clock = deps.clock ?? systemClock;
  }

  get dir(): string {
    return path.join(this.deps.dataDir, 'snapshots');
  }

  private get s(): NonNullable<SnapshotStore['stmts']> {
    const db = this.deps.db;
    this.stmts ??= {
      // The same picture again (a frozen camera) refreshes its time, so retention counts from its last use.
      upsert: db.prepare(
        `INSERT INTO snapshots (id, site, camera, bytes, taken_at) VALUES (@id, @site, @camera, @bytes, @at)
         ON CONFLICT (id) DO UPDATE SET taken_at = max(taken_at, excluded.taken_at)`,
      ),
      get: db.prepare('SELECT id, site, camera, bytes, taken_at FROM snapshots WHERE id = ?'),
      expired: db.prepare('SELECT id FROM snapshots WHERE taken_at < ? ORDER BY taken_at LIMIT 1000'),
      remove: db.prepare('DELETE FROM snapshots WHERE id = ?'),
    };
    return this.stmts;
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
    this.s.upsert.run({ id, site: input.site, camera: input.camera, bytes: input.jpeg.length, at: input.takenAt });
    return this.get(id)!;
  }

  get(id: string): SnapshotRecord | null {
    if (!SNAPSHOT_ID.test(id)) return null;
    const row = this.s.get.get(id);
    return row ? { id: row.id, site: row.site, camera: row.camera, bytes: row.bytes, takenAt: new Date(row.taken_at).toISOString() } : null;
  }

  /** The JPEG bytes, or null if unknown or its file is gone. */
  async read(id: string): Promise<Buffer | null> {
    if (!this.get(id)) return null;
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
        const batch = this.s.expired.all(cutoff);
        if (batch.length === 0) break;
        for (const { id } of batch) {
          // File first: a crash in between leaves a row without a file (404), never an orphan file.
          await rm(this.filePath(id), { force: true });
          this.s.remove.run(id);
          removed++;
        }
      }
    } catch (err) {
      (this.deps.onError ?? ((e) => console.error('snapshot sweep failed', e)))(err);
    }
    return removed;
  }
}
