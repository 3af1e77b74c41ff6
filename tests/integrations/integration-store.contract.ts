/**
 * The IntegrationStore contract: what every implementation (SQLite, PostgreSQL) must do. An
 * implementation's test file calls integrationStoreContract() with a factory that returns a
 * fresh, empty store reading time from the given clock; every test gets its own store.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { emptyPendingWrites, type IntegrationCounts, type IntegrationStore, type NewIntegration, type PendingWrites } from '../../server/integrations/types.ts';

export type MakeIntegrationStore = (now: () => number) => Promise<{ store: IntegrationStore; cleanup: () => Promise<void> }>;

const T0 = Date.parse('2026-11-29T08:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

function integration(id: string, overrides: Partial<NewIntegration> = {}): NewIntegration {
  return { id, adapter: 'ctwing', site: 'demo-hotel', name: `CTWing ${id}`, settings: {}, tokenHash: `hash-${id}`, enabled: true, ...overrides };
}

function batch(parts: Partial<Omit<PendingWrites, 'counts'>> & { counts?: Record<string, Partial<IntegrationCounts & { at: number }>> } = {}): PendingWrites {
  const b = emptyPendingWrites();
  for (const [id, c] of Object.entries(parts.counts ?? {})) b.counts.set(id, { accepted: 0, duplicates: 0, unknown: 0, refused: 0, at: T0, ...c });
  b.keys.push(...(parts.keys ?? []));
  b.unknown.push(...(parts.unknown ?? []));
  b.errors.push(...(parts.errors ?? []));
  return b;
}

export function integrationStoreContract(name: string, make: MakeIntegrationStore): void {
  describe(`IntegrationStore contract: ${name}`, () => {
    let store: IntegrationStore;
    let cleanup: () => Promise<void>;
    let clock = T0;

    beforeEach(async () => {
      clock = T0;
      ({ store, cleanup } = await make(() => clock));
    });

    afterEach(async () => {
      await cleanup();
    });

    it('stores an integration whole and finds it by id and by token hash', async () => {
      const settings = { token: 'a-secret', masterKey: '门磁', nested: { port: 8443, tls: true, list: [1, 'two'] } };
      const stored = await store.insert(integration('int-a', { settings, enabled: false }));
      expect(stored).toEqual({
        id: 'int-a',
        adapter: 'ctwing',
        site: 'demo-hotel',
        name: 'CTWing int-a',
        settings,
        tokenHash: 'hash-int-a',
        enabled: false,
        createdAt: iso(T0),
        updatedAt: iso(T0),
        lastMessageAt: null,
        counts: { accepted: 0, duplicates: 0, unknown: 0, refused: 0 },
        lastError: null,
      });
      expect(await store.get('int-a')).toEqual(stored);
      expect(await store.byTokenHash('hash-int-a')).toEqual(stored);
      expect(await store.get('int-none')).toBeNull();
      expect(await store.byTokenHash('hash-none')).toBeNull();
    });

    it('lists by site, then creation, then id', async () => {
      clock = T0 + 2000;
      await store.insert(integration('int-c', { site: 'demo-shop' }));
      await store.insert(integration('int-b', { site: 'demo-hotel' }));
      clock = T0 + 1000;
      await store.insert(integration('int-z', { site: 'demo-hotel' }));
      await store.insert(integration('int-a', { site: 'demo-hotel' }));
      await store.insert(integration('int-Q', { site: 'demo-hotel' }));
      expect((await store.list()).map((r) => r.id)).toEqual(['int-Q', 'int-a', 'int-z', 'int-b', 'int-c']);
    });

    it('updates settings and re-keys the token; both answer null for an unknown id', async () => {
      await store.insert(integration('int-a', { settings: { a: 1 } }));
      clock = T0 + 5000;
      const updated = await store.update('int-a', { name: 'renamed', settings: { b: 2 }, enabled: false });
      expect(updated).toMatchObject({ name: 'renamed', settings: { b: 2 }, enabled: false, createdAt: iso(T0), updatedAt: iso(T0 + 5000) });
      clock = T0 + 6000;
      const rekeyed = await store.setTokenHash('int-a', 'hash-new');
      expect(rekeyed).toMatchObject({ tokenHash: 'hash-new', name: 'renamed', updatedAt: iso(T0 + 6000) });
      expect(await store.byTokenHash('hash-int-a')).toBeNull();
      expect((await store.byTokenHash('hash-new'))?.id).toBe('int-a');
      expect(await store.update('int-none', { name: 'x', settings: {}, enabled: true })).toBeNull();
      expect(await store.setTokenHash('int-none', 'hash-x')).toBeNull();
    });

    it('removes an integration with its unknown devices, once', async () => {
      await store.insert(integration('int-a'));
      await store.insert(integration('int-b'));
      await store.applyBatch(batch({ unknown: [{ integration: 'int-a', ids: { imei: '1' }, describe: undefined, at: T0 }, { integration: 'int-b', ids: { imei: '2' }, describe: undefined, at: T0 }] }));
      expect(await store.remove('int-a')).toBe(true);
      expect(await store.remove('int-a')).toBe(false);
      expect(await store.get('int-a')).toBeNull();
      expect((await store.listUnknown()).map((u) => u.integration)).toEqual(['int-b']);
    });

    it('adds counters batch after batch and keeps the last message time', async () => {
      await store.insert(integration('int-a'));
      await store.applyBatch(batch({ counts: { 'int-a': { accepted: 3, duplicates: 1, at: T0 + 100 } } }));
      await store.applyBatch(batch({ counts: { 'int-a': { accepted: 2, unknown: 4, refused: 1, at: T0 + 900 } } }));
      await store.applyBatch(emptyPendingWrites());
      const rec = await store.get('int-a');
      expect(rec?.counts).toEqual({ accepted: 5, duplicates: 1, unknown: 4, refused: 1 });
      expect(rec?.lastMessageAt).toBe(iso(T0 + 900));
    });

    it('records refusals: each counts one, the last one is the last error, its message cut at 300 characters', async () => {
      await store.insert(integration('int-a'));
      await store.applyBatch(
        batch({
          errors: [
            { integration: 'int-a', code: 'STW_ERR_INTEGRATION_RATE_LIMITED', message: 'over', at: T0 + 1 },
            { integration: 'int-a', code: 'STW_ERR_PUSH_MALFORMED', message: 'x'.repeat(400), at: T0 + 2 },
          ],
        }),
      );
      const rec = await store.get('int-a');
      expect(rec?.counts.refused).toBe(2);
      expect(rec?.lastError).toEqual({ code: 'STW_ERR_PUSH_MALFORMED', message: 'x'.repeat(300), at: iso(T0 + 2) });
    });

    it('keeps one unknown device per integration and ids, whatever their order, counting its messages', async () => {
      await store.insert(integration('int-a'));
      await store.applyBatch(
        batch({
          unknown: [
            { integration: 'int-a', ids: { imei: '860374051096202', ctwing: 'abc' }, describe: { model: 'door' }, at: T0 + 10 },
            { integration: 'int-a', ids: { ctwing: 'abc', imei: '860374051096202' }, describe: undefined, at: T0 + 20 },
          ],
        }),
      );
      await store.applyBatch(batch({ unknown: [{ integration: 'int-a', ids: { imei: '860374051096202', ctwing: 'abc' }, describe: undefined, at: T0 + 30 }] }));
      expect(await store.listUnknown()).toEqual([
        { integration: 'int-a', ids: { imei: '860374051096202', ctwing: 'abc' }, describe: { model: 'door' }, firstSeen: iso(T0 + 10), lastSeen: iso(T0 + 30), messages: 3 },
      ]);
      await store.applyBatch(batch({ unknown: [{ integration: 'int-a', ids: { ctwing: 'abc', imei: '860374051096202' }, describe: { model: 'door v2' }, at: T0 + 40 }] }));
      expect((await store.listUnknown())[0]).toMatchObject({ describe: { model: 'door v2' }, messages: 4 });
      await store.forgetUnknown('int-a', { ctwing: 'abc', imei: '860374051096202' });
      expect(await store.listUnknown()).toEqual([]);
    });

    it('lists unknown devices most recent first, ties by integration then ids', async () => {
      await store.insert(integration('int-b'));
      await store.insert(integration('int-a'));
      const u = (integration: string, imei: string, at: number) => ({ integration, ids: { imei }, describe: undefined, at });
      await store.applyBatch(batch({ unknown: [u('int-b', '2', T0), u('int-a', '9', T0), u('int-a', '1', T0), u('int-b', '1', T0 + 5)] }));
      expect((await store.listUnknown()).map((x) => `${x.integration}/${x.ids.imei}`)).toEqual(['int-b/1', 'int-a/1', 'int-a/9', 'int-b/2']);
    });

    it('writes the rest of a batch that names an integration removed meanwhile', async () => {
      await store.insert(integration('int-a'));
      await store.applyBatch(
        batch({
          counts: { 'int-gone': { accepted: 1 }, 'int-a': { accepted: 2 } },
          keys: [{ device: 'door-1', key: 'k1', at: T0 }],
          unknown: [
            { integration: 'int-gone', ids: { imei: '1' }, describe: undefined, at: T0 },
            { integration: 'int-a', ids: { imei: '2' }, describe: undefined, at: T0 },
          ],
          errors: [{ integration: 'int-gone', code: 'STW_ERR_PUSH_MALFORMED', message: 'bad', at: T0 }],
        }),
      );
      expect((await store.get('int-a'))?.counts.accepted).toBe(2);
      expect((await store.listUnknown()).map((x) => x.integration)).toEqual(['int-a']);
      expect(await store.recentKeys(T0)).toEqual([{ device: 'door-1', key: 'k1', at: T0 }]);
    });

    it('gives back the retransmission keys of the window, the later time of a key seen again, and forgets older ones', async () => {
      await store.applyBatch(batch({ keys: [{ device: 'door-1', key: 'old', at: T0 - 7200_000 }, { device: 'door-1', key: 'k', at: T0 - 10 }, { device: 'door-2', key: 'k', at: T0 - 5 }] }));
      await store.applyBatch(batch({ keys: [{ device: 'door-1', key: 'k', at: T0 }, { device: 'door-1', key: 'k', at: T0 + 1 }] }));
      expect(await store.recentKeys(T0 - 3600_000)).toEqual([
        { device: 'door-2', key: 'k', at: T0 - 5 },
        { device: 'door-1', key: 'k', at: T0 + 1 },
      ]);
      // The old key is gone, not just filtered out.
      expect(await store.recentKeys(T0 - 10_000_000)).toHaveLength(2);
    });

    it('claims a retransmission key once within the window, gives it back, and lets one of two racing claims win', async () => {
      const window = T0 - 3600_000;
      expect(await store.claimKey('door-1', 'k', T0, window)).toBe(true);
      expect(await store.claimKey('door-1', 'k', T0 + 5, window)).toBe(false);
      expect(await store.claimKey('door-2', 'k', T0 + 5, window)).toBe(true);
      // Seen before the window: claimed again, at the new time.
      expect(await store.claimKey('door-1', 'k', T0 + 7200_000, T0 + 1)).toBe(true);
      expect(await store.recentKeys(T0 + 1)).toEqual([
        { device: 'door-2', key: 'k', at: T0 + 5 },
        { device: 'door-1', key: 'k', at: T0 + 7200_000 },
      ]);
      // Given back by the claim that made it (a refused message): the retry claims it.
      await store.releaseKey('door-1', 'k', T0);
      expect(await store.claimKey('door-1', 'k', T0 + 7200_001, T0 + 1)).toBe(false);
      await store.releaseKey('door-1', 'k', T0 + 7200_000);
      expect(await store.claimKey('door-1', 'k', T0 + 7200_002, T0 + 1)).toBe(true);
      // Two workers, one push: one claim wins (on PostgreSQL, several pooled connections at once).
      const wins = await Promise.all(Array.from({ length: 8 }, (_, i) => store.claimKey('door-3', 'same', T0 + i, window)));
      expect(wins.filter(Boolean)).toHaveLength(1);
    });

    it('adds up batches two workers flush at the same moment, nothing lost', async () => {
      await store.insert(integration('int-a'));
      await store.insert(integration('int-b'));
      // On PostgreSQL these run on several pooled connections at once, touching the same rows.
      await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          store.applyBatch(
            batch({
              counts: i % 2 === 0 ? { 'int-a': { accepted: 1, at: T0 + i }, 'int-b': { duplicates: 1, at: T0 + i } } : { 'int-b': { duplicates: 1, at: T0 + i }, 'int-a': { accepted: 1, at: T0 + i } },
              keys: [{ device: 'door-1', key: `k${i % 3}`, at: T0 + i }],
              unknown: [{ integration: i % 2 === 0 ? 'int-a' : 'int-b', ids: { imei: '42' }, describe: undefined, at: T0 + i }],
            }),
          ),
        ),
      );
      expect((await store.get('int-a'))?.counts.accepted).toBe(12);
      expect((await store.get('int-b'))?.counts.duplicates).toBe(12);
      expect((await store.listUnknown()).map((u) => u.messages)).toEqual([6, 6]);
      expect((await store.recentKeys(T0)).map((k) => k.key).sort()).toEqual(['k0', 'k1', 'k2']);
    });
  });
}
