/**
 * What every AlarmStore must do (server/alarms/store.ts), run against SQLite and PostgreSQL:
 * a changeset commits the alarm rows, their history and their deliveries together or not at
 * all; a create meeting a live alarm of its (rule, source) and an update meeting a row changed
 * since it was read are conflicts; reads page and order the same on both engines (ties on
 * last_at broken by id, byte-wise). And the point of all this: two alarm services on two
 * connections (two workers) raising the same (rule, source) at once end with ONE live alarm
 * that counts every trigger.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AlarmService } from '../../server/alarms/service.ts';
import { apply, raise } from '../../server/alarms/state-machine.ts';
import type { AlarmStore, AlarmWrite } from '../../server/alarms/store.ts';
import type { Alarm, AlarmTrigger } from '../../server/alarms/types.ts';
import { ManualClock } from '../../server/clock.ts';
import { EventBus } from '../../server/events.ts';
import type { NewDelivery } from '../../server/notify/types.ts';
import { createLogger } from '../../server/observability/logger.ts';
import { TestPlanner } from './fixture.ts';

export interface AlarmStoreUnderTest {
  store: AlarmStore;
  /** The same database through another connection (SQLite) or pool (PostgreSQL): a second worker. */
  second(): Promise<AlarmStore>;
  cleanup(): Promise<void>;
}

const T0 = Date.parse('2026-11-23T02:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

function trig(over: Partial<AlarmTrigger> = {}): AlarmTrigger {
  return {
    site: 'demo-hotel',
    zone: 'room-101',
    device: 'door-101',
    rule: 'door-armed',
    source: 'door-101',
    severity: 'major',
    message: { en: 'Door opened in armed room 101', 'zh-CN': '布防房间101门被打开' },
    autoClear: false,
    at: iso(T0),
    ...over,
  };
}

function delivery(alarm: Alarm, route: string, key = `${alarm.id}:raised:0:${route}`): NewDelivery {
  return { idempotencyKey: key, alarm: alarm.id, site: alarm.site, channel: 'webhook', route, payload: { action: 'raised', 门: alarm.source }, nextAttemptAt: T0 };
}

const create = (alarm: Alarm): AlarmWrite => ({ kind: 'create', alarm, history: alarm.history });
const update = (before: Alarm, after: Alarm): AlarmWrite => ({ kind: 'update', before, after, history: after.history.slice(before.history.length) });

export function alarmStoreContract(name: string, make: () => Promise<AlarmStoreUnderTest>): void {
  describe(`AlarmStore contract (${name})`, () => {
    let t: AlarmStoreUnderTest;
    let store: AlarmStore;
    beforeEach(async () => {
      t = await make();
      store = t.store;
    });
    afterEach(async () => {
      await t.cleanup();
    });

    it('commits a created alarm with its history and deliveries, and reads it back the same everywhere', async () => {
      const raised = raise(trig({ details: { nested: { a: 1 }, list: [1, 'two'] } }), 'a-1');
      const withSnapshot = apply(raised, { action: 'snapshot', at: iso(T0 + 1000), snapshot: { status: 'attached', id: 'f00d', camera: 'cam-101', at: iso(T0 + 900), url: '/api/snapshots/f00d' } });
      expect(await store.commit({ writes: [create(withSnapshot)], deliveries: [delivery(raised, 'desk'), delivery(raised, 'manager')], now: T0 })).toBe('committed');
      expect(await store.get('a-1')).toEqual(withSnapshot);
      expect(await store.findLive('door-armed', 'door-101')).toEqual(withSnapshot);
      expect(await store.live()).toEqual([withSnapshot]);
      const { history: _h, ...row } = withSnapshot;
      expect(await store.open()).toEqual([{ ...row, history: [] }]);
      expect(await store.notifiedRoutes(['a-1', 'nope'])).toEqual(
        new Map([
          ['a-1', ['desk', 'manager']],
          ['nope', []],
        ]),
      );
      expect(await store.get('nope')).toBeNull();
      expect(await store.findLive('door-armed', 'other')).toBeNull();
    });

    it('a create meeting a live alarm of its (rule, source) is a conflict, and nothing of the changeset is written', async () => {
      const first = raise(trig(), 'a-1');
      await store.commit({ writes: [create(first)], deliveries: [delivery(first, 'desk')], now: T0 });
      const other = raise(trig({ source: 'door-102' }), 'b-1');
      const dup = raise(trig({ at: iso(T0 + 1000) }), 'a-2');
      // The conflict comes second: the first write of the changeset is rolled back too.
      expect(await store.commit({ writes: [create(other), create(dup)], deliveries: [delivery(other, 'desk'), delivery(dup, 'desk')], now: T0 })).toBe('conflict');
      expect(await store.get('b-1')).toBeNull();
      expect(await store.get('a-2')).toBeNull();
      expect(await store.notifiedRoutes(['b-1', 'a-2'])).toEqual(
        new Map([
          ['b-1', []],
          ['a-2', []],
        ]),
      );
      expect((await store.live()).map((a) => a.id)).toEqual(['a-1']);
    });

    it('an update applies only while the row is as it was read (compare-and-set)', async () => {
      const a = raise(trig(), 'a-1');
      await store.commit({ writes: [create(a)], deliveries: [], now: T0 });
      const repeated = apply(a, { action: 'repeated', at: iso(T0 + 1000), severity: 'critical', message: a.message });
      expect(await store.commit({ writes: [update(a, repeated)], deliveries: [], now: T0 })).toBe('committed');
      // Decided on the old row (count 1): another writer got there first.
      const stale = apply(a, { action: 'acknowledged', at: iso(T0 + 2000), by: 'alice' });
      expect(await store.commit({ writes: [update(a, stale)], deliveries: [delivery(a, 'desk', 'k-stale')], now: T0 })).toBe('conflict');
      expect(await store.get('a-1')).toEqual(repeated);
      expect(await store.notifiedRoutes(['a-1'])).toEqual(new Map([['a-1', []]]));
      // Decided on the current row: applies, with its history entry.
      const acked = apply(repeated, { action: 'acknowledged', at: iso(T0 + 2000), by: 'alice', comment: '马上到' });
      expect(await store.commit({ writes: [update(repeated, acked)], deliveries: [], now: T0 })).toBe('committed');
      expect(await store.get('a-1')).toEqual(acked);
      expect((await store.get('a-1'))!.history.map((h) => h.action)).toEqual(['raised', 'repeated', 'acknowledged']);
      // An unknown id is a conflict too (the row is not as read).
      expect(await store.commit({ writes: [update({ ...acked, id: 'ghost' }, { ...acked, id: 'ghost' })], deliveries: [], now: T0 })).toBe('conflict');
    });

    it('a close out frees (rule, source) for a new alarm in the same changeset', async () => {
      const a = raise(trig(), 'a-1');
      await store.commit({ writes: [create(a)], deliveries: [], now: T0 });
      const closed = apply(apply(a, { action: 'acknowledged', at: iso(T0 + 1000), by: 'op' }), { action: 'cleared', at: iso(T0 + 2000), by: 'op' });
      const next = raise(trig({ at: iso(T0 + 3000) }), 'a-2');
      expect(await store.commit({ writes: [update(a, closed), create(next)], deliveries: [], now: T0 })).toBe('committed');
      expect((await store.findLive('door-armed', 'door-101'))!.id).toBe('a-2');
      expect((await store.open()).map((x) => x.id)).toEqual(['a-2']);
      // Comments on the closed-out alarm leave it closed out.
      const commented = apply(closed, { action: 'commented', at: iso(T0 + 4000), by: 'op', comment: 'seen' });
      expect(await store.commit({ writes: [update(closed, commented)], deliveries: [], now: T0 })).toBe('committed');
      expect((await store.findLive('door-armed', 'door-101'))!.id).toBe('a-2');
    });

    it('a delivery key already stored is left as it is', async () => {
      const a = raise(trig(), 'a-1');
      await store.commit({ writes: [create(a)], deliveries: [delivery(a, 'desk', 'same')], now: T0 });
      const c = apply(a, { action: 'commented', at: iso(T0 + 1000), by: 'op', comment: 'x' });
      expect(await store.commit({ writes: [update(a, c)], deliveries: [delivery(a, 'manager', 'same')], now: T0 })).toBe('committed');
      expect(await store.notifiedRoutes(['a-1'])).toEqual(new Map([['a-1', ['desk']]]));
    });

    it('lists newest activity first with keyset pages; ties on last_at go by id, byte-wise', async () => {
      const ids = ['a-1', 'B-2', 'b-3', 'A-4', '0-5', 'z-6', 'c-7'];
      const alarms = ids.map((id, i) =>
        raise(trig({ source: `s-${i}`, site: i % 2 === 0 ? 'demo-hotel' : 'demo-shop', rule: i % 3 === 0 ? 'tamper' : 'door-armed', severity: i === 1 ? 'critical' : 'minor', at: iso(T0 + Math.floor(i / 3) * 60_000) }), id),
      );
      await store.commit({ writes: alarms.map(create), deliveries: [], now: T0 });
      const byteWise = (x: Alarm, y: Alarm) => (x.lastAt === y.lastAt ? (x.id < y.id ? 1 : -1) : x.lastAt < y.lastAt ? 1 : -1);
      const expected = [...alarms].sort(byteWise).map((a) => a.id);
      const all = await store.list({ limit: 100 });
      expect(all.items.map((a) => a.id)).toEqual(expected);
      expect(all.nextCursor).toBeNull();
      expect(all.items.every((a) => a.history.length === 0)).toBe(true);
      const seen: string[] = [];
      let cursor: string | undefined;
      for (;;) {
        const page = await store.list({ limit: 2, cursor });
        seen.push(...page.items.map((a) => a.id));
        if (page.nextCursor === null) break;
        cursor = page.nextCursor;
      }
      expect(seen).toEqual(expected);
      expect((await store.list({ site: 'demo-shop', limit: 100 })).items.map((a) => a.id)).toEqual(expected.filter((id) => ['B-2', 'A-4', 'z-6'].includes(id)));
      expect((await store.list({ sites: ['demo-shop'], limit: 100 })).items).toHaveLength(3);
      expect((await store.list({ sites: [], limit: 100 })).items).toEqual([]);
      expect((await store.list({ rule: 'tamper', limit: 100 })).items).toHaveLength(3);
      expect((await store.list({ severity: 'critical', limit: 100 })).items.map((a) => a.id)).toEqual(['B-2']);
      expect((await store.list({ from: iso(T0 + 60_000), to: iso(T0 + 120_000), limit: 100 })).items.map((a) => a.id).sort()).toEqual(['0-5', 'A-4', 'z-6']);
      await expect(store.list({ limit: 10, cursor: 'not a cursor' })).rejects.toMatchObject({ code: 'STW_ERR_VALIDATION' });
    });

    it('filters by state: open means not closed out; open() lists oldest first', async () => {
      const active = raise(trig({ source: 's-1', at: iso(T0 + 3000) }), 'x-1');
      const acked = apply(raise(trig({ source: 's-2', at: iso(T0 + 2000) }), 'x-2'), { action: 'acknowledged', at: iso(T0 + 5000), by: 'op' });
      const clearedUnacked = apply(raise(trig({ source: 's-3', at: iso(T0 + 1000) }), 'x-3'), { action: 'cleared', at: iso(T0 + 5000), by: 'op' });
      const closed = apply(apply(raise(trig({ source: 's-4', at: iso(T0) }), 'x-4'), { action: 'acknowledged', at: iso(T0 + 1), by: 'op' }), { action: 'cleared', at: iso(T0 + 2), by: 'op' });
      const shop = raise(trig({ source: 's-5', site: 'demo-shop', at: iso(T0 + 500) }), 'x-5');
      await store.commit({ writes: [active, acked, clearedUnacked, closed, shop].map(create), deliveries: [], now: T0 });
      const ids = async (state: 'active' | 'acknowledged' | 'cleared' | 'open') => (await store.list({ state, limit: 100 })).items.map((a) => a.id).sort();
      expect(await ids('active')).toEqual(['x-1', 'x-5']);
      expect(await ids('acknowledged')).toEqual(['x-2']);
      expect(await ids('cleared')).toEqual(['x-3', 'x-4']);
      expect(await ids('open')).toEqual(['x-1', 'x-2', 'x-3', 'x-5']);
      expect((await store.open()).map((a) => a.id)).toEqual(['x-5', 'x-3', 'x-2', 'x-1']);
      expect((await store.open('demo-hotel')).map((a) => a.id)).toEqual(['x-3', 'x-2', 'x-1']);
      expect((await store.live()).map((a) => a.id)).toEqual(['x-5', 'x-3', 'x-2', 'x-1']);
      expect((await store.live(['demo-shop'])).map((a) => a.id)).toEqual(['x-5']);
      expect(await store.live([])).toEqual([]);
    });

    it('pages lifecycle times for KPIs by (lastAt, id) after a keyset, raised within the range', async () => {
      const mk = (id: string, firstMs: number, site = 'demo-hotel') => raise(trig({ source: id, site, at: iso(firstMs) }), id);
      const a = apply(mk('k-1', T0), { action: 'acknowledged', at: iso(T0 + 30_000), by: 'li.na' });
      const b = mk('k-2', T0 + 10_000);
      const c = mk('k-3', T0 + 10_000);
      const old = mk('k-0', T0 - 60_000);
      const shop = mk('k-4', T0, 'demo-shop');
      await store.commit({ writes: [a, b, c, old, shop].map(create), deliveries: [], now: T0 });
      const first = await store.alarmTimes('demo-hotel', T0, T0 + 60_000, null, 2);
      expect(first.map((x) => x.id)).toEqual(['k-1', 'k-2']);
      expect(first[0]).toEqual({ id: 'k-1', site: 'demo-hotel', rule: 'door-armed', severity: 'major', count: 1, latched: false, firstAt: T0, lastAt: T0, acknowledgedAt: T0 + 30_000, acknowledgedBy: 'li.na', clearedAt: null, clearedBy: null });
      const rest = await store.alarmTimes('demo-hotel', T0, T0 + 60_000, { lastAt: first[1]!.lastAt, id: first[1]!.id }, 2);
      expect(rest.map((x) => x.id)).toEqual(['k-3']);
    });

    it('answers the replay window: alarms alive in it, oldest first, by category', async () => {
      const H = 3_600_000;
      const mk = (id: string, firstMs: number, clearedMs: number | null, category?: string) => {
        const r = raise(trig({ source: id, at: iso(firstMs), ...(category === undefined ? {} : { details: { category } }) }), id);
        return clearedMs === null ? r : apply(r, { action: 'cleared', at: iso(clearedMs), by: 'op' });
      };
      await store.commit({
        writes: [mk('before', T0 - 5 * H, T0 - 4 * H), mk('spanning', T0 - 5 * H, T0 + H), mk('inside', T0 + H, null, 'device-health'), mk('after', T0 + 3 * H, null)].map(create),
        deliveries: [],
        now: T0,
      });
      const window = await store.overlapping('demo-hotel', T0, T0 + 2 * H, 10);
      expect(window.map((a) => a.id)).toEqual(['spanning', 'inside']);
      expect(window[0]).toEqual({ id: 'spanning', severity: 'major', zone: 'room-101', device: 'door-101', rule: 'door-armed', message: trig().message, firstAt: iso(T0 - 5 * H), acknowledgedAt: null, clearedAt: iso(T0 + H) });
      expect((await store.overlapping('demo-hotel', T0, T0 + 2 * H, 10, ['device-health'])).map((a) => a.id)).toEqual(['inside']);
      // No category is the default one (server/alarms/category.ts).
      expect((await store.overlapping('demo-hotel', T0, T0 + 2 * H, 10, ['operations'])).map((a) => a.id)).toEqual(['spanning']);
      expect(await store.overlapping('demo-hotel', T0, T0 + 2 * H, 1)).toHaveLength(1);
      expect(await store.overlapping('demo-shop', T0, T0 + 2 * H, 10)).toEqual([]);
    });

    it('two alarm services on two connections raising one (rule, source) at once: one live alarm counting every trigger', async () => {
      const other = await t.second();
      const clock = new ManualClock(T0);
      const bus = new EventBus();
      const changes: string[] = [];
      bus.on('alarm.changed', (c) => changes.push(c.action));
      const logger = createLogger({ level: 'silent' });
      const planner = new TestPlanner();
      const a = new AlarmService({ store, planner, bus, clock, logger });
      const b = new AlarmService({ store: other, planner, bus, clock, logger });
      await Promise.all([a.start(), b.start()]);
      const n = 15;
      const results = await Promise.all(
        Array.from({ length: 2 * n }, async (_, i) => {
          for (let k = 0; k < i % 3; k++) await Promise.resolve();
          return (i % 2 === 0 ? a : b).raise(trig({ at: iso(T0 + i * 1000) }));
        }),
      );
      const live = await store.live();
      expect(live).toHaveLength(1);
      expect(live[0]!.count).toBe(2 * n);
      expect(live[0]!.lastAt).toBe(iso(T0 + (2 * n - 1) * 1000));
      expect(new Set(results.map((r) => r!.id))).toEqual(new Set([live[0]!.id]));
      expect(changes.filter((c) => c === 'raised')).toHaveLength(1);
      expect(changes.filter((c) => c === 'repeated')).toHaveLength(2 * n - 1);
      // Every committed change has its delivery (the test planner plans one each), no more.
      const { items } = await store.list({ limit: 10 });
      expect(items).toHaveLength(1);
      await Promise.all([a.stop(), b.stop()]);
    });

    it('an alarm service decides again when another worker changed the alarm under it', async () => {
      const other = await t.second();
      const clock = new ManualClock(T0);
      const logger = createLogger({ level: 'silent' });
      const a = new AlarmService({ store, planner: new TestPlanner(), bus: new EventBus(), clock, logger });
      const b = new AlarmService({ store: other, planner: new TestPlanner(), bus: new EventBus(), clock, logger });
      await a.start();
      const raised = (await a.raise(trig({ autoClear: true })))!;
      // Worker b (which never saw it) acknowledges it; a's view still holds it unacknowledged.
      await b.acknowledge(raised.id, 'li.na');
      // a's auto-clear now closes it out (acknowledged + cleared), decided on the current row.
      const cleared = (await a.resolve('door-armed', 'door-101', iso(T0 + 5000)))!;
      expect(cleared).toMatchObject({ id: raised.id, state: 'cleared', acknowledged: true, acknowledgedBy: 'li.na' });
      expect(await store.live()).toEqual([]);
      // And the next trigger raises a new alarm.
      const again = (await a.raise(trig({ at: iso(T0 + 6000) })))!;
      expect(again.id).not.toBe(raised.id);

      // b takes the site over: after refreshSites its view holds a's alarm, and a resolution
      // through b clears it (without the refresh, b would not know the alarm was live).
      const auto = (await a.raise(trig({ source: 'door-102', autoClear: true, at: iso(T0 + 7000) })))!;
      await b.refreshSites(['demo-hotel']);
      expect(await b.resolve('door-armed', 'door-102', iso(T0 + 8000))).toMatchObject({ id: auto.id, state: 'cleared' });
      await a.stop();
    });
  });
}
