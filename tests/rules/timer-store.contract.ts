/**
 * The RuleTimerStore contract: what the SQLite and the PostgreSQL store must both do. An
 * implementation's test file calls ruleTimerStoreContract() with a factory returning a fresh,
 * empty store and `another()`: a second store on the same database, as a second worker (its own
 * connection) would have it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RuleTimer, RuleTimerStore } from '../../server/rules/timer-store.ts';

export type MakeRuleTimerStore = () => Promise<{ store: RuleTimerStore; another(): Promise<RuleTimerStore>; cleanup(): Promise<void> }>;

const T0 = Date.parse('2026-11-23T02:14:07.123Z');

function timer(rule: string, source: string, overrides: Partial<RuleTimer> & { site?: string } = {}): RuleTimer {
  const { site = 'demo-hotel', ...rest } = overrides;
  return { rule, source, dueAt: T0 + 300_000, payload: { state: 'pending', site, zone: '2-20', device: null, since: T0 }, ...rest };
}

const keys = (ts: RuleTimer[]) => ts.map((t) => `${t.rule} ${t.source}`);

export function ruleTimerStoreContract(name: string, make: MakeRuleTimerStore): void {
  describe(`RuleTimerStore contract: ${name}`, () => {
    let store: RuleTimerStore;
    let another: () => Promise<RuleTimerStore>;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, another, cleanup } = await make());
    });
    afterEach(async () => {
      await cleanup();
    });

    it('gives back what a turn saved, exactly, in (rule, source) byte order', async () => {
      expect(await store.loadAll()).toEqual([]);
      await store.saveTurn([], []);
      const fired: RuleTimer = { rule: 'door-open-long', source: 'demo-hotel/2-20', dueAt: T0, payload: { state: 'fired', site: 'demo-hotel', zone: '2-20', device: null } };
      const withValue = timer('temp-high', 'sensor-é', { payload: { state: 'pending', site: 'demo-shop', zone: 'cold-room', device: 'sensor-é', since: T0 - 1, value: 8.25, note: '门磁 open' } });
      // Upper case sorts before lower case and 'é' after 'z' in byte order, in both engines.
      const rows = [timer('b', 'z'), withValue, timer('b', 'a'), timer('B', 'a'), fired, timer('b', 'é'), timer('b', 'Z')];
      await store.saveTurn(rows, []);
      const all = await store.loadAll();
      expect(keys(all)).toEqual(['B a', 'b Z', 'b a', 'b z', 'b é', 'door-open-long demo-hotel/2-20', 'temp-high sensor-é']);
      expect(all.find((t) => t.rule === 'temp-high')).toEqual(withValue);
      expect(all.find((t) => t.rule === 'door-open-long')).toEqual(fired);
      expect(all[0]?.dueAt).toBe(T0 + 300_000); // milliseconds survive
    });

    it('replaces a key, removes before it saves, and the later of two writes of a key wins', async () => {
      await store.saveTurn([timer('r', 'a'), timer('r', 'b'), timer('r', 'c')], []);
      const fired = timer('r', 'a', { dueAt: T0 + 1, payload: { state: 'fired', site: 'demo-hotel', zone: null, device: 'door-2-20' } });
      // 'b' removed, 'c' removed and saved again in the same turn (kept), 'd' written twice.
      await store.saveTurn(
        [fired, timer('r', 'c', { dueAt: T0 + 3 }), timer('r', 'd', { dueAt: T0 + 4 }), timer('r', 'd', { dueAt: T0 + 5 })],
        [{ rule: 'r', source: 'b' }, { rule: 'r', source: 'c' }, { rule: 'r', source: 'never-saved' }],
      );
      const all = await store.loadAll();
      expect(keys(all)).toEqual(['r a', 'r c', 'r d']);
      expect(all[0]).toEqual(fired);
      expect(all.map((t) => t.dueAt)).toEqual([T0 + 1, T0 + 3, T0 + 5]);
      await store.saveTurn([], [{ rule: 'r', source: 'a' }, { rule: 'r', source: 'c' }, { rule: 'r', source: 'd' }]);
      expect(await store.loadAll()).toEqual([]);
    });

    it('loads the timers of some sites only (a worker taking those sites over)', async () => {
      await store.saveTurn([timer('r', 'h1', { site: 'hotel' }), timer('r', 's1', { site: 'shop' }), timer('q', 'h2', { site: 'hotel' }), timer('r', 'x1', { site: 'mall' })], []);
      expect(keys(await store.load(['hotel']))).toEqual(['q h2', 'r h1']);
      expect(keys(await store.load(['shop', 'hotel']))).toEqual(['q h2', 'r h1', 'r s1']);
      expect(await store.load(['nowhere'])).toEqual([]);
      expect(await store.load([])).toEqual([]);
      // A timer moved by a later write follows its new site.
      await store.saveTurn([timer('r', 'x1', { site: 'shop' })], []);
      expect(keys(await store.load(['shop']))).toEqual(['r s1', 'r x1']);
    });

    it('writes a busy turn of thousands of timers in one go', async () => {
      const many = Array.from({ length: 3000 }, (_, i) => timer('busy', `door-${String(i).padStart(4, '0')}`, { dueAt: T0 + i }));
      await store.saveTurn(many, []);
      await store.saveTurn(many.slice(0, 10).map((t) => ({ ...t, dueAt: 0 })), many.slice(1000).map(({ rule, source }) => ({ rule, source })));
      const all = await store.loadAll();
      expect(all).toHaveLength(1000);
      expect(all[0]?.dueAt).toBe(0);
      expect(all[999]).toEqual(many[999]);
    });

    it('takes turns from two workers at once, on overlapping keys in opposite orders, without losing one', async () => {
      const other = await another();
      const a = Array.from({ length: 40 }, (_, i) => timer('shared', `k${String(i).padStart(2, '0')}`, { dueAt: T0 + i }));
      const b = [...a].reverse().map((t) => ({ ...t, dueAt: t.dueAt + 1000 }));
      // Twenty turns each, racing: every one commits (no key conflict, no deadlock surfaces).
      await Promise.all(Array.from({ length: 20 }, () => [store.saveTurn(a, []), other.saveTurn(b, [])]).flat());
      const all = await store.loadAll();
      expect(keys(all)).toEqual(keys(a));
      // Each key holds one of the two writes, whole.
      for (const t of all) expect([T0 + Number(t.source.slice(1)), T0 + Number(t.source.slice(1)) + 1000]).toContain(t.dueAt);
      expect(await other.loadAll()).toEqual(all);
    });
  });
}
