/**
 * The DeviceStore contract (and the broker password lines written with devices): what every
 * implementation (SQLite, PostgreSQL) must do. Ported from the old SqliteRegistry tests, plus
 * what two workers (or the CLI beside the server) sharing one database may race on.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BrokerPasswordLine } from '../../server/broker/external/password-store.ts';
import type { DeviceRecord } from '../../server/storage/types.ts';
import type { MakeRegistryStores, RegistryStores } from '../helpers/registry-stores.ts';

export function device(id: string, overrides: Partial<DeviceRecord> = {}): DeviceRecord {
  return {
    id,
    site: 'site-a',
    type: 'door-nb',
    zone: 'back-door',
    label: null,
    position: null,
    externalIds: {},
    secretHash: `sha256$${id}`,
    enabled: true,
    createdAt: '2026-11-23T02:14:07.000Z',
    updatedAt: '2026-11-23T02:14:07.000Z',
    ...overrides,
  };
}

const line = (username: string, verifier: string, createdAt = Date.parse('2026-11-23T02:14:07.000Z')): BrokerPasswordLine => ({ username, verifier, hash: `$7$101$salt$${username}`, createdAt });

export function deviceStoreContract(name: string, make: MakeRegistryStores): void {
  describe(`DeviceStore contract: ${name}`, () => {
    let s: RegistryStores;
    let other: RegistryStores;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ stores: s, other, cleanup } = await make());
    });
    afterEach(async () => {
      await cleanup();
    });

    it('round-trips every field', async () => {
      const rec = device('door-1', { label: 'Back door «cour» 门', position: [1.5, -2, 0.25], externalIds: { imei: '866123456789012', ctwing: 'ctw-1' }, enabled: false });
      await s.devices.register([rec]);
      expect(await s.devices.get('door-1')).toEqual(rec);
      expect(await s.devices.get('nope')).toBeNull();
      // The same from the other connection: it is committed.
      expect(await other.devices.get('door-1')).toEqual(rec);
    });

    it('refuses a duplicate id and leaves the first device untouched', async () => {
      await s.devices.register([device('door-1', { externalIds: { imei: '1' } })]);
      await expect(s.devices.register([device('door-1', { site: 'site-b', externalIds: { ctwing: 'x' } })])).rejects.toMatchObject({ code: 'STW_ERR_DEVICE_EXISTS', detail: { id: 'door-1' } });
      expect(await s.devices.get('door-1')).toMatchObject({ site: 'site-a', externalIds: { imei: '1' } });
      expect(await s.devices.findByExternalId('ctwing', 'x')).toBeNull();
    });

    it('stores a batch all or none, naming the first id taken (also one given twice)', async () => {
      await s.devices.register([device('door-2')]);
      await expect(s.devices.register([device('door-1'), device('door-2'), device('door-3')], [line('door-1', 'v1')])).rejects.toMatchObject({ code: 'STW_ERR_DEVICE_EXISTS', detail: { id: 'door-2' } });
      await expect(s.devices.register([device('door-4'), device('door-5'), device('door-4')])).rejects.toMatchObject({ code: 'STW_ERR_DEVICE_EXISTS', detail: { id: 'door-4' } });
      expect((await s.devices.all()).map((d) => d.id)).toEqual(['door-2']);
      // The refused batch's password lines went with it.
      expect(await s.passwords.list()).toEqual([]);
    });

    it('enforces external id uniqueness per platform and finds devices by it', async () => {
      await s.devices.register([device('door-1', { externalIds: { imei: '866000000000001' } })]);
      await expect(s.devices.register([device('door-2', { externalIds: { ctwing: 'c-2', imei: '866000000000001' } })])).rejects.toMatchObject({
        code: 'STW_ERR_EXTERNAL_ID_TAKEN',
        detail: { platform: 'imei', externalId: '866000000000001' },
      });
      // All or nothing: the refused device is not half-inserted.
      expect(await s.devices.get('door-2')).toBeNull();
      expect(await s.devices.findByExternalId('ctwing', 'c-2')).toBeNull();
      // Two devices of one batch with the same id on a platform: the second is refused.
      await expect(s.devices.register([device('door-5', { externalIds: { axis: 'ax' } }), device('door-6', { externalIds: { axis: 'ax' } })])).rejects.toMatchObject({ code: 'STW_ERR_EXTERNAL_ID_TAKEN', detail: { platform: 'axis', externalId: 'ax' } });
      expect(await s.devices.get('door-5')).toBeNull();

      // The same value on another platform is another id.
      await s.devices.register([device('door-3', { externalIds: { onenet: '866000000000001' } })]);
      expect((await s.devices.findByExternalId('imei', '866000000000001'))?.id).toBe('door-1');
      expect((await s.devices.findByExternalId('onenet', '866000000000001'))?.id).toBe('door-3');
      expect(await s.devices.findByExternalId('axis', '866000000000001')).toBeNull();
    });

    it('updates fields, keeps createdAt, moves updatedAt', async () => {
      await s.devices.register([device('door-1', { label: 'old' })]);
      const before = Date.now();
      const updated = await s.devices.update('door-1', { zone: 'front', label: null, position: [1, 2, 3], enabled: false, secretHash: 'new' });
      expect(updated).toMatchObject({ zone: 'front', label: null, position: [1, 2, 3], enabled: false, secretHash: 'new', createdAt: '2026-11-23T02:14:07.000Z' });
      expect(Date.parse(updated?.updatedAt ?? '')).toBeGreaterThanOrEqual(before - 1);
      expect(await s.devices.get('door-1')).toEqual(updated);
    });

    it('treats undefined in a patch as "not given"', async () => {
      await s.devices.register([device('door-1', { label: 'keep', externalIds: { imei: '1' } })]);
      const updated = await s.devices.update('door-1', { label: undefined, externalIds: undefined, zone: 'front' });
      expect(updated).toMatchObject({ label: 'keep', externalIds: { imei: '1' }, zone: 'front' });
    });

    it('replaces the external id set atomically', async () => {
      await s.devices.register([device('door-1', { externalIds: { imei: '1', ctwing: 'a' } }), device('door-2', { externalIds: { imei: '2' } })]);
      expect((await s.devices.update('door-1', { externalIds: { imei: '1', onenet: 'o' } }))?.externalIds).toEqual({ imei: '1', onenet: 'o' });
      expect(await s.devices.findByExternalId('ctwing', 'a')).toBeNull();
      expect((await s.devices.findByExternalId('onenet', 'o'))?.id).toBe('door-1');

      // Taking door-2's IMEI fails and changes nothing, not even the other fields of the patch
      // or the password line given with it.
      await expect(s.devices.update('door-1', { zone: 'front', externalIds: { imei: '2' } }, [line('door-1', 'rotated')])).rejects.toMatchObject({ code: 'STW_ERR_EXTERNAL_ID_TAKEN' });
      expect(await s.devices.get('door-1')).toMatchObject({ zone: 'back-door', externalIds: { imei: '1', onenet: 'o' } });
      expect((await s.devices.findByExternalId('imei', '2'))?.id).toBe('door-2');
      expect(await s.passwords.list()).toEqual([]);

      expect((await s.devices.update('door-1', { externalIds: {} }))?.externalIds).toEqual({});
      expect(await s.devices.findByExternalId('imei', '1')).toBeNull();
    });

    it('answers null when updating a missing device, false when deleting one', async () => {
      expect(await s.devices.update('nope', { label: 'x' })).toBeNull();
      expect(await s.devices.delete('nope')).toBe(false);
    });

    it('deletes a device with its external ids; the id can be registered again', async () => {
      await s.devices.register([device('door-1', { externalIds: { imei: '1' } })]);
      expect(await s.devices.delete('door-1')).toBe(true);
      expect(await s.devices.get('door-1')).toBeNull();
      expect(await s.devices.findByExternalId('imei', '1')).toBeNull();
      expect(await s.devices.delete('door-1')).toBe(false);
      await s.devices.register([device('door-9', { externalIds: { imei: '1' } })]);
      expect((await s.devices.findByExternalId('imei', '1'))?.id).toBe('door-9');
      await s.devices.register([device('door-1')]);
    });

    describe('listing', () => {
      const ids = Array.from({ length: 25 }, (_, i) => `dev-${String(i).padStart(2, '0')}`);

      beforeEach(async () => {
        // Registered out of order: pages follow id order, not insertion.
        await s.devices.register(
          [...ids].reverse().map((id, i) =>
            device(id, { site: i % 2 === 0 ? 'site-a' : 'site-b', type: i % 3 === 0 ? 'camera' : 'door-nb', zone: i % 5 === 0 ? 'front' : 'back', externalIds: { imei: `imei-${id}` } }),
          ),
        );
      });

      async function walk(q: { site?: string; type?: string; zone?: string; limit: number }): Promise<DeviceRecord[]> {
        const out: DeviceRecord[] = [];
        let cursor: string | undefined;
        for (let pages = 0; pages < 100; pages++) {
          const page = await s.devices.list({ ...q, ...(cursor === undefined ? {} : { cursor }) });
          expect(page.items.length).toBeLessThanOrEqual(q.limit);
          out.push(...page.items);
          if (page.nextCursor === null) return out;
          cursor = page.nextCursor;
        }
        throw new Error('pagination does not end');
      }

      it('pages by id, every device exactly once, with its external ids', async () => {
        for (const limit of [1, 4, 5, 25, 1000]) {
          const all = await walk({ limit });
          expect(all.map((d) => d.id)).toEqual(ids);
          expect(all.every((d) => d.externalIds.imei === `imei-${d.id}`)).toBe(true);
        }
      });

      it('filters by site, type and zone', async () => {
        const every = await s.devices.all();
        for (const f of [{ site: 'site-b' }, { type: 'camera' }, { zone: 'front' }, { site: 'site-a', type: 'door-nb', zone: 'back' }]) {
          const expected = every.filter((d) => Object.entries(f).every(([k, v]) => d[k as keyof DeviceRecord] === v)).map((d) => d.id);
          expect(expected.length).toBeGreaterThan(0);
          expect((await walk({ ...f, limit: 2 })).map((d) => d.id)).toEqual(expected);
        }
      });

      it('says null on a last page that is exactly full', async () => {
        const first = await s.devices.list({ limit: 20 });
        expect(first.nextCursor).toBe('dev-19');
        const last = await s.devices.list({ limit: 5, cursor: first.nextCursor ?? undefined });
        expect(last.items.map((d) => d.id)).toEqual(ids.slice(20));
        expect(last.nextCursor).toBeNull();
      });

      it('refuses a limit outside 1..1000', async () => {
        for (const limit of [0, 1001, 1.5]) await expect(s.devices.list({ limit })).rejects.toMatchObject({ code: 'STW_ERR_VALIDATION' });
      });

      it('lists all devices in id order', async () => {
        const all = await s.devices.all();
        expect(all.map((d) => d.id)).toEqual(ids);
        expect(all[0]?.externalIds).toEqual({ imei: 'imei-dev-00' });
      });

      it('orders ids byte-wise, whatever the database locale', async () => {
        const odd = ['a_b', 'A-b', 'aB', 'a.b', 'a-b', 'Z'];
        await s.devices.register(odd.map((id) => device(id)));
        const expected = [...odd, ...ids].sort((a, b) => (Buffer.from(a) < Buffer.from(b) ? -1 : 1));
        expect((await s.devices.all()).map((d) => d.id)).toEqual(expected);
        expect((await walk({ limit: 3 })).map((d) => d.id)).toEqual(expected);
      });
    });

    describe('broker password lines', () => {
      it('are stored with the devices and a rotation, listed by username, newest first', async () => {
        await s.devices.register([device('door-b'), device('door-a')], [line('door-b', 'vb', 1000), line('door-a', 'va', 1000)]);
        await s.devices.update('door-a', { secretHash: 'va2' }, [line('door-a', 'va2', 2000)]);
        expect((await s.passwords.list()).map((p) => [p.username, p.verifier, p.createdAt])).toEqual([
          ['door-a', 'va2', 2000],
          ['door-a', 'va', 1000],
          ['door-b', 'vb', 1000],
        ]);
        // The same line again replaces it.
        await s.devices.update('door-b', { label: 'x' }, [{ ...line('door-b', 'vb', 3000), hash: '$7$new' }]);
        expect((await s.passwords.list()).find((p) => p.username === 'door-b')).toEqual({ username: 'door-b', verifier: 'vb', hash: '$7$new', createdAt: 3000 });
      });

      it('change the fingerprint when added or pruned; prune only the lines given, once old enough', async () => {
        const now = Date.now();
        const empty = await s.passwords.fingerprint();
        await s.devices.register([device('door-1'), device('door-2')], [line('door-1', 'old', now - 7200_000), line('door-1', 'young', now - 60_000), line('door-2', 'kept', now - 7200_000)]);
        const filled = await s.passwords.fingerprint();
        expect(filled).not.toBe(empty);
        expect(await s.passwords.fingerprint()).toBe(filled);
        const stale = (await s.passwords.list()).filter((p) => p.username === 'door-1');
        // One hour's grace: the young line stays although stale; door-2's was not given.
        expect(await other.passwords.prune(stale, 3600_000)).toBe(1);
        expect((await s.passwords.list()).map((p) => p.verifier)).toEqual(['young', 'kept']);
        expect(await s.passwords.fingerprint()).not.toBe(filled);
        expect(await other.passwords.prune([], 0)).toBe(0);
      });
    });

    describe('version', () => {
      it('moves with every committed write, whichever connection made it, and not with reads or refusals', async () => {
        const v0 = await s.devices.version();
        await s.devices.register([device('door-1', { externalIds: { imei: '1' } })]);
        const v1 = await other.devices.version();
        expect(v1).not.toBe(v0);
        await s.devices.get('door-1');
        await s.devices.all();
        expect(await s.devices.version()).toBe(v1);
        await expect(s.devices.register([device('door-1')])).rejects.toMatchObject({ code: 'STW_ERR_DEVICE_EXISTS' });
        await expect(s.devices.register([device('door-2', { externalIds: { imei: '1' } })])).rejects.toMatchObject({ code: 'STW_ERR_EXTERNAL_ID_TAKEN' });
        expect(await s.devices.version()).toBe(v1);
        await other.devices.update('door-1', { label: 'x' });
        const v2 = await s.devices.version();
        expect(v2).not.toBe(v1);
        await other.devices.delete('door-1');
        expect(await s.devices.version()).not.toBe(v2);
      });
    });

    describe('two writers at once', () => {
      it('registering one id: one wins, the other hears STW_ERR_DEVICE_EXISTS', async () => {
        const outcomes = await Promise.allSettled([s.devices.register([device('door-1', { site: 'site-a' })]), other.devices.register([device('door-1', { site: 'site-b' })])]);
        expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
        expect(outcomes.find((o) => o.status === 'rejected')).toMatchObject({ reason: { code: 'STW_ERR_DEVICE_EXISTS' } });
        expect(await s.devices.all()).toHaveLength(1);
      });

      it('taking one external id: one wins, the other stores nothing', async () => {
        const outcomes = await Promise.allSettled([
          s.devices.register([device('door-1', { externalIds: { imei: '7' } })], [line('door-1', 'v1')]),
          other.devices.register([device('door-2', { externalIds: { imei: '7' } })], [line('door-2', 'v2')]),
        ]);
        expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
        expect(outcomes.find((o) => o.status === 'rejected')).toMatchObject({ reason: { code: 'STW_ERR_EXTERNAL_ID_TAKEN' } });
        const stored = await s.devices.all();
        expect(stored).toHaveLength(1);
        expect((await s.passwords.list()).map((p) => p.username)).toEqual([stored[0]!.id]);
      });

      it('patching one device: both patches apply, neither overwrites the other', async () => {
        await s.devices.register([device('door-1')]);
        for (let i = 0; i < 5; i++) {
          await Promise.all([s.devices.update('door-1', { label: `label-${i}` }), other.devices.update('door-1', { zone: `zone-${i}` })]);
          expect(await s.devices.get('door-1')).toMatchObject({ label: `label-${i}`, zone: `zone-${i}` });
        }
      });
    });
  });
}
