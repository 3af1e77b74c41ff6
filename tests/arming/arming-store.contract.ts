/**
 * The ArmingStore contract: arming overrides and maintenance windows, the same on SQLite and
 * PostgreSQL. `another()` is a second store on the same database, as a second worker has it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ArmingOverride, ArmingStore, NewMaintenanceRecord } from '../../server/arming/store.ts';

export type MakeArmingStore = () => Promise<{ store: ArmingStore; another(): Promise<ArmingStore>; cleanup(): Promise<void> }>;

const T0 = Date.parse('2026-11-23T02:14:07.123Z');
const MIN = 60_000;

const override = (site: string, zone: string, extra: Partial<ArmingOverride> = {}): ArmingOverride => ({ site, zone, armed: true, by: 'boss', at: T0, until: null, ...extra });
const win = (extra: Partial<NewMaintenanceRecord> = {}): NewMaintenanceRecord => ({ site: 'demo-shop', zone: null, device: 'shop-cam-cash', by: 'tech', reason: null, from: T0, until: T0 + 60 * MIN, ...extra });

export function armingStoreContract(name: string, make: MakeArmingStore): void {
  describe(`ArmingStore contract: ${name}`, () => {
    let store: ArmingStore;
    let another: () => Promise<ArmingStore>;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, another, cleanup } = await make());
    });
    afterEach(async () => {
      await cleanup();
    });

    it('keeps one override per zone: set replaces, remove says whether there was one; ordered by (site, zone) bytes', async () => {
      expect(await store.overrides()).toEqual([]);
      await store.setOverride(override('shop', 'z-hall'));
      await store.setOverride(override('shop', 'Cash', { armed: false, until: T0 + 30 * MIN, by: '店长' }));
      await store.setOverride(override('hotel', 'é-room'));
      await store.setOverride(override('hotel', '2-01'));
      await store.setOverride(override('shop', 'z-hall', { armed: false, at: T0 + 1, until: T0 + 2 }));
      const all = await store.overrides();
      expect(all.map((o) => `${o.site}/${o.zone}`)).toEqual(['hotel/2-01', 'hotel/é-room', 'shop/Cash', 'shop/z-hall']);
      expect(all[2]).toEqual(override('shop', 'Cash', { armed: false, until: T0 + 30 * MIN, by: '店长' }));
      expect(all[3]).toEqual(override('shop', 'z-hall', { armed: false, at: T0 + 1, until: T0 + 2 }));
      expect((await store.overrides(['shop'])).map((o) => o.zone)).toEqual(['Cash', 'z-hall']);
      expect(await store.overrides([])).toEqual([]);
      expect(await store.removeOverride('shop', 'Cash')).toBe(true);
      expect(await store.removeOverride('shop', 'Cash')).toBe(false);
      expect(await store.removeOverride('nowhere', 'x')).toBe(false);
      expect((await store.overrides()).map((o) => o.zone)).toEqual(['2-01', 'é-room', 'z-hall']);
    });

    it('records windows with growing ids and gives them back exactly', async () => {
      const a = await store.insertWindow(win({ zone: 'cash-room', device: null, reason: '换电池 battery', by: 'boss' }));
      const b = await store.insertWindow(win());
      expect(b.id).toBeGreaterThan(a.id);
      expect(a).toEqual({ id: a.id, site: 'demo-shop', zone: 'cash-room', device: null, by: 'boss', reason: '换电池 battery', from: T0, until: T0 + 60 * MIN });
      expect(await store.getWindow(a.id)).toEqual(a);
      expect(await store.getWindow(b.id + 1000)).toBeNull();
      expect(await store.getWindow(2 ** 62)).toBeNull();
    });

    it('lists the windows not over at a time, upcoming ones included, by (from, id), of some sites', async () => {
      const over = await store.insertWindow(win({ from: T0 - 60 * MIN, until: T0 }));
      const late = await store.insertWindow(win({ from: T0 + 10 * MIN, until: T0 + 20 * MIN }));
      const now1 = await store.insertWindow(win({ site: 'demo-hotel', device: 'door-2-01' }));
      const now2 = await store.insertWindow(win({ until: T0 + 5 * MIN }));
      const open = await store.openWindows(T0);
      expect(open.map((w) => w.id)).toEqual([now1.id, now2.id, late.id]);
      expect(open).not.toContainEqual(over);
      expect((await store.openWindows(T0, ['demo-shop'])).map((w) => w.id)).toEqual([now2.id, late.id]);
      expect(await store.openWindows(T0, [])).toEqual([]);
      expect((await store.openWindows(T0 + 5 * MIN)).map((w) => w.id)).toEqual([now1.id, late.id]);
    });

    it('ends a window now, an upcoming one at its start, and leaves one already over as it was', async () => {
      const running = await store.insertWindow(win());
      const upcoming = await store.insertWindow(win({ from: T0 + 30 * MIN, until: T0 + 90 * MIN }));
      const over = await store.insertWindow(win({ from: T0 - 30 * MIN, until: T0 - MIN }));
      expect(await store.endWindow(running.id, T0 + 5 * MIN)).toEqual({ ...running, until: T0 + 5 * MIN });
      expect(await store.endWindow(upcoming.id, T0 + 5 * MIN)).toEqual({ ...upcoming, until: T0 + 30 * MIN });
      expect(await store.endWindow(over.id, T0 + 5 * MIN)).toEqual(over);
      // Again: nothing left to end, the record stays.
      expect(await store.endWindow(running.id, T0 + 9 * MIN)).toEqual({ ...running, until: T0 + 5 * MIN });
      expect(await store.endWindow(running.id + 1000, T0)).toBeNull();
      expect(await store.openWindows(T0 + 5 * MIN)).toEqual([{ ...upcoming, until: T0 + 30 * MIN }]);
    });

    it('two workers at once: windows get distinct ids, an override is one of the two writes, whole', async () => {
      const other = await another();
      const inserted = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? store : other).insertWindow(win({ reason: `w${i}` }))));
      expect(new Set(inserted.map((w) => w.id)).size).toBe(20);
      expect((await other.openWindows(T0)).map((w) => w.reason).sort()).toEqual(inserted.map((w) => w.reason).sort());
      for (let round = 0; round < 5; round++) {
        const mine = override('shop', 'cash', { armed: true, by: 'a', at: T0 + round });
        const theirs = override('shop', 'cash', { armed: false, by: 'b', until: T0 + MIN, at: T0 + round });
        await Promise.all([store.setOverride(mine), other.setOverride(theirs)]);
        const rows = await store.overrides();
        expect(rows).toHaveLength(1);
        expect([mine, theirs]).toContainEqual(rows[0]);
      }
    });
  });
}
