import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStorage, type SqliteStorage } from '../../server/storage/sqlite/index.ts';
import type { SqliteRegistry } from '../../server/storage/sqlite/registry.ts';
import type { DeviceRecord } from '../../server/storage/types.ts';

function device(id: string, overrides: Partial<DeviceRecord> = {}): DeviceRecord {
  return {
    id,
    site: 'site-a',
    type: 'door-nb',
    zone: 'back-door',
    label: null,
    position: null,
    externalIds: {},
    secretHash: `scrypt$${id}`,
    enabled: true,
    createdAt: '2026-11-23T02:14:07.000Z',
    updatedAt: '2026-11-23T02:14:07.000Z',
    ...overrides,
  };
}

describe('SqliteRegistry', () => {
  let dir: string;
  let storage: SqliteStorage;
  let reg: SqliteRegistry;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stw-registry-'));
    storage = openSqliteStorage(join(dir, 'storetwin.db'));
    reg = storage.registry;
  });

  afterEach(async () => {
    storage.close();
    await rm(dir, { recursive: true, force: true });
  });

  describe('devices', () => {
    it('round-trips every field', () => {
      const rec = device('door-1', {
        label: 'Back door «cour»',
        position: [1.5, -2, 0.25],
        externalIds: { imei: '866123456789012', ctwing: 'ctw-1' },
        enabled: false,
      });
      reg.insertDevice(rec);
      expect(reg.getDevice('door-1')).toEqual(rec);
      expect(reg.getDevice('nope')).toBeNull();
    });

    it('refuses a duplicate id and leaves the first device untouched', () => {
      reg.insertDevice(device('door-1', { externalIds: { imei: '1' } }));
      expect(() => reg.insertDevice(device('door-1', { site: 'site-b', externalIds: { ctwing: 'x' } }))).toThrow(
        expect.objectContaining({ code: 'STW_ERR_DEVICE_EXISTS' }),
      );
      expect(reg.getDevice('door-1')).toMatchObject({ site: 'site-a', externalIds: { imei: '1' } });
      expect(reg.findDeviceByExternalId('ctwing', 'x')).toBeNull();
    });

    it('enforces external id uniqueness per platform and finds devices by it', () => {
      reg.insertDevice(device('door-1', { externalIds: { imei: '866000000000001' } }));
      expect(() => reg.insertDevice(device('door-2', { externalIds: { ctwing: 'c-2', imei: '866000000000001' } }))).toThrow(
        expect.objectContaining({ code: 'STW_ERR_EXTERNAL_ID_TAKEN', detail: { platform: 'imei', externalId: '866000000000001' } }),
      );
      // All or nothing: the refused device is not half-inserted.
      expect(reg.getDevice('door-2')).toBeNull();
      expect(reg.findDeviceByExternalId('ctwing', 'c-2')).toBeNull();

      // The same value on another platform is another id.
      reg.insertDevice(device('door-3', { externalIds: { onenet: '866000000000001' } }));
      expect(reg.findDeviceByExternalId('imei', '866000000000001')?.id).toBe('door-1');
      expect(reg.findDeviceByExternalId('onenet', '866000000000001')?.id).toBe('door-3');
      expect(reg.findDeviceByExternalId('axis', '866000000000001')).toBeNull();
    });

    it('updates fields, keeps createdAt, moves updatedAt', () => {
      reg.insertDevice(device('door-1', { label: 'old' }));
      const before = Date.now();
      const updated = reg.updateDevice('door-1', { zone: 'front', label: null, position: [1, 2, 3], enabled: false, secretHash: 'new' });
      expect(updated).toMatchObject({ zone: 'front', label: null, position: [1, 2, 3], enabled: false, secretHash: 'new', createdAt: '2026-11-23T02:14:07.000Z' });
      expect(Date.parse(updated?.updatedAt ?? '')).toBeGreaterThanOrEqual(before - 1);
      expect(reg.getDevice('door-1')).toEqual(updated);
    });

    it('treats undefined in a patch as "not given"', () => {
      reg.insertDevice(device('door-1', { label: 'keep', externalIds: { imei: '1' } }));
      const updated = reg.updateDevice('door-1', { label: undefined, externalIds: undefined, zone: 'front' });
      expect(updated).toMatchObject({ label: 'keep', externalIds: { imei: '1' }, zone: 'front' });
    });

    it('replaces the external id set atomically', () => {
      reg.insertDevice(device('door-1', { externalIds: { imei: '1', ctwing: 'a' } }));
      reg.insertDevice(device('door-2', { externalIds: { imei: '2' } }));

      expect(reg.updateDevice('door-1', { externalIds: { imei: '1', onenet: 'o' } })?.externalIds).toEqual({ imei: '1', onenet: 'o' });
      expect(reg.findDeviceByExternalId('ctwing', 'a')).toBeNull();
      expect(reg.findDeviceByExternalId('onenet', 'o')?.id).toBe('door-1');

      // Taking door-2's IMEI fails and changes nothing, not even the other fields of the patch.
      expect(() => reg.updateDevice('door-1', { zone: 'front', externalIds: { imei: '2' } })).toThrow(
        expect.objectContaining({ code: 'STW_ERR_EXTERNAL_ID_TAKEN' }),
      );
      expect(reg.getDevice('door-1')).toMatchObject({ zone: 'back-door', externalIds: { imei: '1', onenet: 'o' } });
      expect(reg.findDeviceByExternalId('imei', '2')?.id).toBe('door-2');

      expect(reg.updateDevice('door-1', { externalIds: {} })?.externalIds).toEqual({});
      expect(reg.findDeviceByExternalId('imei', '1')).toBeNull();
    });

    it('answers null when updating a missing device', () => {
      expect(reg.updateDevice('nope', { label: 'x' })).toBeNull();
    });

    it('deletes a device with its external ids and twin state', () => {
      reg.insertDevice(device('door-1', { externalIds: { imei: '1' } }));
      reg.saveDeviceStates([{ device: 'door-1', state: { door: 'open' }, updatedAt: '2026-11-23T02:14:07.000Z' }]);
      expect(reg.deleteDevice('door-1')).toBe(true);
      expect(reg.getDevice('door-1')).toBeNull();
      expect(reg.findDeviceByExternalId('imei', '1')).toBeNull();
      expect(reg.loadDeviceStates()).toEqual([]);
      expect(reg.deleteDevice('door-1')).toBe(false);
      // The freed external id can be registered again.
      reg.insertDevice(device('door-9', { externalIds: { imei: '1' } }));
      expect(reg.findDeviceByExternalId('imei', '1')?.id).toBe('door-9');
    });

    describe('listing', () => {
      const ids = Array.from({ length: 25 }, (_, i) => `dev-${String(i).padStart(2, '0')}`);

      beforeEach(() => {
        // Inserted out of order: pages follow id order, not insertion.
        for (const [i, id] of [...ids].reverse().entries()) {
          reg.insertDevice(
            device(id, {
              site: i % 2 === 0 ? 'site-a' : 'site-b',
              type: i % 3 === 0 ? 'camera' : 'door-nb',
              zone: i % 5 === 0 ? 'front' : 'back',
              externalIds: { imei: `imei-${id}` },
            }),
          );
        }
      });

      function walk(q: { site?: string; type?: string; zone?: string; limit: number }): DeviceRecord[] {
        const out: DeviceRecord[] = [];
        let cursor: string | undefined;
        for (let pages = 0; pages < 100; pages++) {
          const page = reg.listDevices({ ...q, ...(cursor === undefined ? {} : { cursor }) });
          expect(page.items.length).toBeLessThanOrEqual(q.limit);
          out.push(...page.items);
          if (page.nextCursor === null) return out;
          cursor = page.nextCursor;
        }
        throw new Error('pagination does not end');
      }

      it('pages by id, every device exactly once, with its external ids', () => {
        for (const limit of [1, 4, 5, 25, 1000]) {
          const all = walk({ limit });
          expect(all.map((d) => d.id)).toEqual(ids);
          expect(all.every((d) => d.externalIds.imei === `imei-${d.id}`)).toBe(true);
        }
      });

      it('filters by site, type and zone', () => {
        const every = reg.allDevices();
        for (const f of [{ site: 'site-b' }, { type: 'camera' }, { zone: 'front' }, { site: 'site-a', type: 'door-nb', zone: 'back' }]) {
          const expected = every.filter((d) => Object.entries(f).every(([k, v]) => d[k as keyof DeviceRecord] === v)).map((d) => d.id);
          expect(expected.length).toBeGreaterThan(0);
          expect(walk({ ...f, limit: 2 }).map((d) => d.id)).toEqual(expected);
        }
      });

      it('says null on a last page that is exactly full', () => {
        const first = reg.listDevices({ limit: 20 });
        expect(first.nextCursor).toBe('dev-19');
        const last = reg.listDevices({ limit: 5, cursor: first.nextCursor ?? undefined });
        expect(last.items.map((d) => d.id)).toEqual(ids.slice(20));
        expect(last.nextCursor).toBeNull();
      });

      it('refuses a limit outside 1..1000', () => {
        for (const limit of [0, 1001, 1.5]) {
          expect(() => reg.listDevices({ limit })).toThrow(expect.objectContaining({ code: 'STW_ERR_VALIDATION' }));
        }
      });

      it('lists all devices in id order', () => {
        const all = reg.allDevices();
        expect(all.map((d) => d.id)).toEqual(ids);
        expect(all[0]?.externalIds).toEqual({ imei: 'imei-dev-00' });
      });
    });
  });

  describe('users', () => {
    it('inserts, reads by id and by name regardless of case', () => {
      const u = reg.insertUser({ username: 'Alice', role: 'manager', sites: ['site-a', 'site-b'], passwordHash: 'h1' });
      expect(u).toMatchObject({ username: 'Alice', role: 'manager', sites: ['site-a', 'site-b'], passwordHash: 'h1' });
      expect(typeof u.id).toBe('number');
      expect(u.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      expect(reg.getUser(u.id)).toEqual(u);
      expect(reg.getUserByName('alice')).toEqual(u);
      expect(reg.getUserByName('ALICE')).toEqual(u);
      expect(reg.getUserByName('bob')).toBeNull();
      expect(reg.getUser(9999)).toBeNull();
    });

    it('refuses a duplicate username, whatever its case', () => {
      reg.insertUser({ username: 'alice', role: 'admin', sites: [], passwordHash: 'h' });
      expect(() => reg.insertUser({ username: 'ALICE', role: 'operator', sites: [], passwordHash: 'h' })).toThrow(
        expect.objectContaining({ code: 'STW_ERR_USER_EXISTS' }),
      );
      expect(reg.countUsers()).toBe(1);
    });

    it('lists, counts, updates and deletes', () => {
      expect(reg.countUsers()).toBe(0);
      const a = reg.insertUser({ username: 'a', role: 'admin', sites: [], passwordHash: 'h' });
      const b = reg.insertUser({ username: 'b', role: 'technician', sites: ['site-a'], passwordHash: 'h' });
      expect(reg.listUsers().map((u) => u.username)).toEqual(['a', 'b']);
      expect(reg.countUsers()).toBe(2);

      expect(reg.updateUser(b.id, { role: 'operator', sites: [] })).toMatchObject({ role: 'operator', sites: [], passwordHash: 'h' });
      expect(reg.updateUser(b.id, { passwordHash: 'h2' })).toMatchObject({ role: 'operator', passwordHash: 'h2' });
      expect(reg.updateUser(9999, { role: 'admin' })).toBeNull();

      expect(reg.deleteUser(a.id)).toBe(true);
      expect(reg.deleteUser(a.id)).toBe(false);
      expect(reg.listUsers().map((u) => u.id)).toEqual([b.id]);
    });
  });

  describe('sessions', () => {
    it('stores, reads, deletes, and cascades from a deleted user', () => {
      const u = reg.insertUser({ username: 'alice', role: 'admin', sites: [], passwordHash: 'h' });
      const s = { tokenHash: 'a'.repeat(64), userId: u.id, kind: 'session' as const, name: null, createdAt: '2026-11-23T02:00:00.000Z', expiresAt: '2026-11-23T14:00:00.000Z' };
      const api = { tokenHash: 'b'.repeat(64), userId: u.id, kind: 'api' as const, name: 'grafana', createdAt: '2026-11-23T02:00:00.000Z', expiresAt: null };
      reg.insertSession(s);
      reg.insertSession(api);
      expect(reg.getSession(s.tokenHash)).toEqual(s);
      expect(reg.getSession(api.tokenHash)).toEqual(api);
      expect(reg.getSession('c'.repeat(64))).toBeNull();

      expect(reg.deleteSession(s.tokenHash)).toBe(true);
      expect(reg.deleteSession(s.tokenHash)).toBe(false);
      expect(reg.getSession(s.tokenHash)).toBeNull();

      reg.deleteUser(u.id);
      expect(reg.getSession(api.tokenHash)).toBeNull();
    });

    it('refuses a session for an unknown user', () => {
      expect(() =>
        reg.insertSession({ tokenHash: 'x', userId: 42, kind: 'session', name: null, createdAt: '2026-11-23T02:00:00.000Z', expiresAt: null }),
      ).toThrow(expect.objectContaining({ code: 'STW_ERR_USER_NOT_FOUND' }));
    });

    it('deletes sessions expired at or before now, never tokens without expiry', () => {
      const u = reg.insertUser({ username: 'alice', role: 'admin', sites: [], passwordHash: 'h' });
      const mk = (tokenHash: string, expiresAt: string | null) =>
        reg.insertSession({ tokenHash, userId: u.id, kind: expiresAt === null ? 'api' : 'session', name: null, createdAt: '2026-11-23T00:00:00.000Z', expiresAt });
      mk('past', '2026-11-23T11:59:59.999Z');
      mk('exactly-now', '2026-11-23T12:00:00.000Z');
      mk('future', '2026-11-23T12:00:00.001Z');
      mk('never', null);
      // The same instant written with an offset: compared as a time, not as text.
      expect(reg.deleteExpiredSessions('2026-11-23T20:00:00+08:00')).toBe(2);
      expect(['past', 'exactly-now', 'future', 'never'].map((t) => reg.getSession(t) !== null)).toEqual([false, false, true, true]);
      expect(reg.deleteExpiredSessions('2026-11-23T12:00:00.000Z')).toBe(0);
    });
  });

  describe('device states', () => {
    it('saves, overwrites, reloads, and skips devices that are not registered', () => {
      reg.insertDevice(device('door-1'));
      reg.insertDevice(device('door-2'));
      reg.saveDeviceStates([
        { device: 'door-1', state: { door: 'open', battery: 3.6 }, updatedAt: '2026-11-23T02:14:07.000Z' },
        { device: 'door-2', state: { door: 'closed' }, updatedAt: '2026-11-23T02:14:08.000Z' },
        { device: 'ghost', state: {}, updatedAt: '2026-11-23T02:14:08.000Z' },
      ]);
      reg.saveDeviceStates([{ device: 'door-1', state: { door: 'closed', nested: { a: [1, 2] } }, updatedAt: '2026-11-23T02:15:00Z' }]);
      expect(reg.loadDeviceStates()).toEqual([
        { device: 'door-1', state: { door: 'closed', nested: { a: [1, 2] } }, updatedAt: '2026-11-23T02:15:00.000Z' },
        { device: 'door-2', state: { door: 'closed' }, updatedAt: '2026-11-23T02:14:08.000Z' },
      ]);
      reg.saveDeviceStates([]);
      expect(reg.loadDeviceStates()).toHaveLength(2);
    });
  });

  describe('settings', () => {
    it('gets, sets, overwrites and deletes with null', () => {
      expect(reg.getSetting('setup.tokenHash')).toBeNull();
      reg.setSetting('setup.tokenHash', 'abc');
      expect(reg.getSetting('setup.tokenHash')).toBe('abc');
      reg.setSetting('setup.tokenHash', '');
      expect(reg.getSetting('setup.tokenHash')).toBe('');
      reg.setSetting('setup.tokenHash', null);
      expect(reg.getSetting('setup.tokenHash')).toBeNull();
      reg.setSetting('missing', null);
    });
  });

  it('keeps everything across close and reopen', () => {
    reg.insertDevice(device('door-1', { externalIds: { imei: '1' } }));
    const u = reg.insertUser({ username: 'alice', role: 'admin', sites: [], passwordHash: 'h' });
    reg.setSetting('k', 'v');
    const file = storage.db.name;
    storage.close();
    storage = openSqliteStorage(file);
    reg = storage.registry;
    expect(reg.findDeviceByExternalId('imei', '1')?.id).toBe('door-1');
    expect(reg.getUserByName('ALICE')?.id).toBe(u.id);
    expect(reg.getSetting('k')).toBe('v');
  });
});
