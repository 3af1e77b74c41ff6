/**
 * The AuditStore contract: what every implementation (SQLite, PostgreSQL) must do.
 * An implementation's test file calls auditStoreContract() with a factory that returns a fresh,
 * empty store reading time from the given clock; every test gets its own store.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AUDIT_ACTIONS, type AuditEntry, type AuditQuery, type AuditStore, type NewAuditEntry } from '../../server/audit/types.ts';
import type { StoreTwinError } from '../../server/errors.ts';

export type MakeAuditStore = (now: () => number) => Promise<{ store: AuditStore; cleanup: () => Promise<void> }>;

const T0 = Date.parse('2026-11-23T02:14:07.000Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

function entry(overrides: Partial<NewAuditEntry> = {}): NewAuditEntry {
  return { user: 'olga', userId: 7, role: 'operator', ip: '10.0.0.5', action: 'alarm.acknowledged', site: 'site-a', target: { kind: 'alarm', id: 'a-1' }, ...overrides };
}

/** Follows nextCursor to the end; fails on an empty page after a cursor or a runaway loop. */
async function walk(store: AuditStore, q: Omit<AuditQuery, 'cursor'>): Promise<{ items: AuditEntry[]; pages: number }> {
  const items: AuditEntry[] = [];
  let cursor: string | undefined;
  for (let pages = 1; ; pages++) {
    if (pages > 10_000) throw new Error('pagination does not end');
    const page = await store.query({ ...q, ...(cursor === undefined ? {} : { cursor }) });
    if (cursor !== undefined) expect(page.items.length, 'a page after a cursor is never empty').toBeGreaterThan(0);
    items.push(...page.items);
    if (page.nextCursor === null) return { items, pages };
    expect(page.items.length, 'only the last page is short').toBe(q.limit);
    cursor = page.nextCursor;
  }
}

const ids = (items: AuditEntry[]) => items.map((e) => e.id);

export function auditStoreContract(name: string, make: MakeAuditStore): void {
  describe(`AuditStore contract: ${name}`, () => {
    let store: AuditStore;
    let cleanup: () => Promise<void>;
    let clock = T0;

    beforeEach(async () => {
      clock = T0;
      ({ store, cleanup } = await make(() => clock));
    });

    afterEach(async () => {
      await cleanup();
    });

    it('appends an entry and gives it back whole, with an id and the clock time', async () => {
      clock = T0 + 1234;
      const stored = await store.append(
        entry({
          action: 'rule.updated',
          target: { kind: 'rule', id: 'door-armed', name: 'Door in an armed zone' },
          before: { severity: 'major', when: { type: 'door' } },
          after: { severity: 'critical', when: { type: 'door', state: 'open' } },
          detail: { note: '门磁' },
        }),
      );
      expect(stored).toEqual({
        id: expect.any(Number) as number,
        at: new Date(T0 + 1234).toISOString(),
        user: 'olga',
        userId: 7,
        role: 'operator',
        ip: '10.0.0.5',
        action: 'rule.updated',
        site: 'site-a',
        target: { kind: 'rule', id: 'door-armed', name: 'Door in an armed zone' },
        before: { severity: 'major', when: { type: 'door' } },
        after: { severity: 'critical', when: { type: 'door', state: 'open' } },
        detail: { note: '门磁' },
      });
      expect((await store.query({ limit: 10 })).items).toEqual([stored]);
    });

    it('keeps absent parts absent: no target, no before/after/detail, no account, no address', async () => {
      const stored = await store.append({ user: 'cli', userId: null, role: null, ip: null, action: 'user.deleted', site: null, target: null });
      expect(stored).toEqual({ id: stored.id, at: new Date(T0).toISOString(), user: 'cli', userId: null, role: null, ip: null, action: 'user.deleted', site: null, target: null });
      expect(Object.keys(stored)).not.toContain('before');
    });

    it('takes every action of the closed list and refuses any other', async () => {
      for (const action of AUDIT_ACTIONS) await store.append(entry({ action }));
      expect((await store.query({ limit: 1000 })).items.map((e) => e.action).sort()).toEqual([...AUDIT_ACTIONS].sort());
      await expect(store.append(entry({ action: 'alarm.deleted' as never }))).rejects.toThrow(expect.objectContaining({ code: 'STW_ERR_VALIDATION' }) as StoreTwinError);
    });

    it('appends several entries at once, in order, all or none', async () => {
      const stored = await store.appendMany([entry({ target: { kind: 'device', id: 'd-1' }, action: 'device.registered' }), entry({ target: { kind: 'device', id: 'd-2' }, action: 'device.registered' })]);
      expect(stored.map((e) => e.target?.id)).toEqual(['d-1', 'd-2']);
      expect(stored[1]!.id).toBeGreaterThan(stored[0]!.id);
      expect((await store.query({ limit: 10 })).items).toEqual([...stored].reverse());
      await expect(store.appendMany([entry({ target: { kind: 'device', id: 'd-3' } }), entry({ action: 'device.exploded' as never })])).rejects.toThrow(expect.objectContaining({ code: 'STW_ERR_VALIDATION' }) as StoreTwinError);
      expect((await store.query({ limit: 10 })).items).toHaveLength(2);
      expect(await store.appendMany([])).toEqual([]);
    });

    it('has no way to change or remove an entry', async () => {
      const methods = new Set<string>();
      for (let o: object | null = store; o && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) for (const k of Object.getOwnPropertyNames(o)) methods.add(k);
      expect([...methods].filter((m) => /update|delete|remove|clear|truncate|prune|edit/i.test(m))).toEqual([]);
    });

    it('lists newest first and pages by keyset without losing or repeating an entry', async () => {
      // Several entries share an instant: the id orders them.
      for (let i = 0; i < 23; i++) await store.append(entry({ at: at(Math.floor(i / 3)), target: { kind: 'alarm', id: `a-${i}` } }));
      const all = (await store.query({ limit: 1000 })).items;
      expect(all).toHaveLength(23);
      for (let i = 1; i < all.length; i++) {
        const [prev, cur] = [all[i - 1]!, all[i]!];
        expect(Date.parse(prev.at) > Date.parse(cur.at) || (prev.at === cur.at && prev.id > cur.id)).toBe(true);
      }
      expect(all[0]!.target?.id).toBe('a-22');
      const walked = await walk(store, { limit: 5 });
      expect(walked.pages).toBe(5);
      expect(ids(walked.items)).toEqual(ids(all));
    });

    it('does not shift pages when entries arrive while someone pages', async () => {
      for (let i = 0; i < 10; i++) await store.append(entry({ at: at(i) }));
      const first = await store.query({ limit: 4 });
      await store.append(entry({ at: at(100) }));
      const second = await store.query({ limit: 4, cursor: first.nextCursor! });
      expect(ids(second.items)).toEqual(ids(first.items).map((id) => id - 4));
    });

    it('keeps every entry of writers appending at once (two workers), each once in the pages', async () => {
      // On PostgreSQL these run on several pooled connections at the same time.
      const stored = await Promise.all(Array.from({ length: 40 }, (_, i) => store.append(entry({ at: at(i % 4), target: { kind: 'alarm', id: `c-${i}` } }))));
      expect(new Set(stored.map((e) => e.id)).size).toBe(40);
      const walked = await walk(store, { limit: 7 });
      expect(walked.items.map((e) => e.target?.id).sort()).toEqual(stored.map((e) => e.target?.id).sort());
      expect(new Set(ids(walked.items)).size).toBe(40);
    });

    it('filters by site, user (any case), action, group and time (from inclusive, to exclusive)', async () => {
      await store.append(entry({ at: at(0), site: 'site-a', user: 'Olga', action: 'alarm.acknowledged' }));
      await store.append(entry({ at: at(1), site: 'site-b', user: 'olga', action: 'alarm.cleared' }));
      await store.append(entry({ at: at(2), site: 'site-a', user: 'ivan', action: 'zone.armed', target: { kind: 'zone', id: 'z' } }));
      await store.append(entry({ at: at(3), site: null, user: 'ivan', action: 'auth.login', target: null }));
      const users = async (q: Omit<AuditQuery, 'limit'>) => (await store.query({ limit: 100, ...q })).items.map((e) => `${e.user}@${e.at.slice(17, 19)}`);
      expect(await users({ site: 'site-a' })).toEqual(['ivan@09', 'Olga@07']);
      expect(await users({ user: 'OLGA' })).toEqual(['olga@08', 'Olga@07']);
      expect(await users({ action: 'alarm.cleared' })).toEqual(['olga@08']);
      expect(await users({ action: 'alarm' })).toEqual(['olga@08', 'Olga@07']);
      expect(await users({ action: 'auth' })).toEqual(['ivan@10']);
      expect(await users({ from: at(1), to: at(3) })).toEqual(['ivan@09', 'olga@08']);
      expect(await users({ user: 'ivan', site: 'site-a', action: 'zone' })).toEqual(['ivan@09']);
      expect(await users({ user: 'nobody' })).toEqual([]);
    });

    it('refuses an unknown action or group and a forged cursor', async () => {
      await expect(store.query({ limit: 10, action: 'alarms' })).rejects.toThrow(expect.objectContaining({ code: 'STW_ERR_VALIDATION' }) as StoreTwinError);
      await expect(store.query({ limit: 10, cursor: 'not-a-cursor' })).rejects.toThrow(expect.objectContaining({ code: 'STW_ERR_VALIDATION' }) as StoreTwinError);
      await expect(store.query({ limit: 10, cursor: Buffer.from('1:2; DROP TABLE audit').toString('base64url') })).rejects.toThrow(expect.objectContaining({ code: 'STW_ERR_VALIDATION' }) as StoreTwinError);
    });

    it('shows a site-limited admin its sites, its own entries and the accounts it manages, nothing else', async () => {
      const mine = (label: string, e: Partial<NewAuditEntry>) => store.append(entry({ detail: { label }, ...e }));
      await mine('hotel alarm', { site: 'hotel' });
      await mine('shop alarm', { site: 'shop' });
      await mine('own login', { site: null, user: 'hadmin', userId: 42, scope: ['hotel'], action: 'auth.login', target: null });
      await mine('own token, scope wider', { site: null, user: 'hadmin', userId: 42, scope: [], action: 'token.created', target: { kind: 'token', id: '0123456789abcdef' } });
      await mine('hotel operator login', { site: null, userId: 8, scope: ['hotel'], action: 'auth.login', target: null });
      await mine('hotel+shop account', { site: null, userId: 9, scope: ['hotel', 'shop'], action: 'auth.login', target: null });
      await mine('shop account', { site: null, userId: 10, scope: ['shop'], action: 'auth.login', target: null });
      await mine('unlimited account', { site: null, userId: 11, scope: [], action: 'auth.login', target: null });
      await mine('no scope given', { site: null, userId: 12, action: 'auth.logout', target: null });
      const labels = async (q: Omit<AuditQuery, 'limit'>) => (await store.query({ limit: 100, ...q })).items.map((e) => e.detail?.label).reverse();
      expect(await labels({ viewer: { userId: 42, sites: ['hotel'] } })).toEqual(['hotel alarm', 'own login', 'own token, scope wider', 'hotel operator login']);
      expect(await labels({ viewer: { userId: 43, sites: ['hotel', 'shop'] } })).toEqual(['hotel alarm', 'shop alarm', 'own login', 'hotel operator login', 'hotel+shop account', 'shop account']);
      // Filters narrow within the scope, never around it.
      expect(await labels({ viewer: { userId: 42, sites: ['hotel'] }, site: 'shop' })).toEqual([]);
      expect(await labels({ viewer: { userId: 42, sites: ['hotel'] }, action: 'auth' })).toEqual(['own login', 'hotel operator login']);
      expect(await labels({})).toHaveLength(9);
    });
  });
}
