/**
 * The SnapshotRowStore contract: what every implementation (SQLite, PostgreSQL) must do, and
 * the SnapshotStore (files under the data directory, rows in the store) over it. An
 * implementation's test file calls snapshotStoreContract() with a factory that returns a fresh,
 * empty row store; every test gets its own.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../server/clock.ts';
import { SnapshotStore, snapshotId } from '../../server/linkage/snapshot-store.ts';
import type { SnapshotRowStore } from '../../server/linkage/store.ts';

export type MakeSnapshotRowStore = () => Promise<{ rows: SnapshotRowStore; cleanup: () => Promise<void> }>;

const T0 = Date.parse('2026-11-23T02:00:00.000Z');
const DAY = 24 * 3600_000;
const iso = (ms: number) => new Date(ms).toISOString();
const id = (n: number) => n.toString(16).padStart(64, '0');
const jpeg = (n: number) => Buffer.from([0xff, 0xd8, 0xff, 0xe0, n, 0xff, 0xd9]);

export function snapshotStoreContract(name: string, make: MakeSnapshotRowStore): void {
  describe(`SnapshotRowStore contract: ${name}`, () => {
    let rows: SnapshotRowStore;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ rows, cleanup } = await make());
    });

    afterEach(async () => {
      await cleanup();
    });

    it('records a picture and gives it back; the same id again keeps the later time and what it first recorded', async () => {
      const first = await rows.upsert({ id: id(1), site: 'demo-shop', camera: 'shop-cam-cash', bytes: 1234, takenAtMs: T0 + 5 });
      expect(first).toEqual({ id: id(1), site: 'demo-shop', camera: 'shop-cam-cash', bytes: 1234, takenAt: iso(T0 + 5) });
      expect(await rows.get(id(1))).toEqual(first);
      expect(await rows.upsert({ id: id(1), site: 'demo-shop', camera: 'shop-cam-door', bytes: 1234, takenAtMs: T0 + 9 })).toEqual({ ...first, takenAt: iso(T0 + 9) });
      // An older time (a late retry) never moves it back.
      expect((await rows.upsert({ id: id(1), site: 'demo-shop', camera: 'shop-cam-cash', bytes: 1234, takenAtMs: T0 })).takenAt).toBe(iso(T0 + 9));
      expect(await rows.get(id(2))).toBeNull();
    });

    it('lists expired ids oldest first, ties by id, at most the limit', async () => {
      for (const [n, at] of [[5, T0], [3, T0], [9, T0 - 10], [4, T0 + 1], [7, T0 + DAY]] as const) await rows.upsert({ id: id(n), site: 's', camera: 'c', bytes: 1, takenAtMs: at });
      expect(await rows.expired(T0 + 2, 100)).toEqual([id(9), id(3), id(5), id(4)]);
      expect(await rows.expired(T0 + 2, 2)).toEqual([id(9), id(3)]);
      expect(await rows.expired(T0 - 10, 100)).toEqual([]);
    });

    it('removes a row only while it is still expired', async () => {
      await rows.upsert({ id: id(1), site: 's', camera: 'c', bytes: 1, takenAtMs: T0 });
      // Used again after the sweep listed it: kept.
      await rows.upsert({ id: id(1), site: 's', camera: 'c', bytes: 1, takenAtMs: T0 + DAY });
      expect(await rows.removeExpired(id(1), T0 + 1)).toBe(false);
      expect(await rows.get(id(1))).not.toBeNull();
      expect(await rows.removeExpired(id(1), T0 + DAY + 1)).toBe(true);
      expect(await rows.removeExpired(id(1), T0 + DAY + 1)).toBe(false);
      expect(await rows.get(id(1))).toBeNull();
    });

    it('keeps one row when two workers record the same picture at once, with the latest time', async () => {
      const all = await Promise.all(Array.from({ length: 10 }, (_, i) => rows.upsert({ id: id(1), site: 's', camera: 'c', bytes: 7, takenAtMs: T0 + i })));
      expect(all.every((r) => r.id === id(1))).toBe(true);
      expect((await rows.get(id(1)))?.takenAt).toBe(iso(T0 + 9));
      expect(await rows.expired(T0 + 100, 100)).toEqual([id(1)]);
    });

    describe('with the files (SnapshotStore)', () => {
      let dir: string;
      let clock: ManualClock;
      let store: SnapshotStore;

      beforeEach(async () => {
        dir = await mkdtemp(join(tmpdir(), 'stw-snapshots-'));
        clock = new ManualClock(T0);
        store = new SnapshotStore({ rows, dataDir: dir, clock, retentionDays: 30 });
      });

      afterEach(async () => {
        store.stop();
        await rm(dir, { recursive: true, force: true });
      });

      it('stores a picture once per site, reads it back, and sweeps what retention passed, file and row', async () => {
        const old = await store.put({ site: 'demo-shop', camera: 'cam', jpeg: jpeg(1), takenAt: T0 });
        expect(old.id).toBe(snapshotId('demo-shop', jpeg(1)));
        const otherSite = await store.put({ site: 'demo-hotel', camera: 'cam', jpeg: jpeg(1), takenAt: T0 });
        expect(otherSite.id).not.toBe(old.id);
        expect(await store.read(old.id)).toEqual(jpeg(1));
        expect(await store.get('not-an-id')).toBeNull();
        // The hotel's picture is used again 20 days later: its retention starts over.
        await store.put({ site: 'demo-hotel', camera: 'cam', jpeg: jpeg(1), takenAt: T0 + 20 * DAY });
        clock.advance(31 * DAY);
        expect(await store.sweep()).toBe(1);
        expect(await store.get(old.id)).toBeNull();
        expect(await store.read(old.id)).toBeNull();
        expect(existsSync(store.filePath(old.id))).toBe(false);
        expect(await store.read(otherSite.id)).toEqual(jpeg(1));
        expect(await store.sweep()).toBe(0);
      });
    });
  });
}
