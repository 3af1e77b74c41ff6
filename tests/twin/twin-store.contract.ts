/** The TwinStore contract (the twin's device-state snapshots), on every implementation. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MakeRegistryStores, RegistryStores } from '../helpers/registry-stores.ts';
import { device } from '../registry/device-store.contract.ts';

export function twinStoreContract(name: string, make: MakeRegistryStores): void {
  describe(`TwinStore contract: ${name}`, () => {
    let s: RegistryStores;
    let other: RegistryStores;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ stores: s, other, cleanup } = await make());
    });
    afterEach(async () => {
      await cleanup();
    });

    it('saves, overwrites, reloads by device id, and skips devices that are not registered', async () => {
      await s.devices.register([device('door-2'), device('door-1')]);
      await s.twin.saveDeviceStates([
        { device: 'door-2', state: { door: 'closed' }, updatedAt: '2026-11-23T02:14:08.000Z' },
        { device: 'door-1', state: { door: 'open', battery: 3.6 }, updatedAt: '2026-11-23T02:14:07.000Z' },
        { device: 'ghost', state: {}, updatedAt: '2026-11-23T02:14:08.000Z' },
      ]);
      await s.twin.saveDeviceStates([{ device: 'door-1', state: { door: 'closed', nested: { a: [1, 2] }, label: '门' }, updatedAt: '2026-11-23T02:15:00Z' }]);
      expect(await other.twin.loadDeviceStates()).toEqual([
        { device: 'door-1', state: { door: 'closed', nested: { a: [1, 2] }, label: '门' }, updatedAt: '2026-11-23T02:15:00.000Z' },
        { device: 'door-2', state: { door: 'closed' }, updatedAt: '2026-11-23T02:14:08.000Z' },
      ]);
      await s.twin.saveDeviceStates([]);
      expect(await s.twin.loadDeviceStates()).toHaveLength(2);
    });

    it('reads only the snapshots written strictly after a time, as another worker wrote them', async () => {
      await s.devices.register([device('door-1'), device('door-2'), device('door-3')]);
      await s.twin.saveDeviceStates([
        { device: 'door-1', state: { n: 1 }, updatedAt: '2026-11-23T02:14:07.000Z' },
        { device: 'door-2', state: { n: 2 }, updatedAt: '2026-11-23T02:14:08.000Z' },
        { device: 'door-3', state: { n: 3 }, updatedAt: '2026-11-23T02:14:09.500Z' },
      ]);
      expect((await other.twin.loadDeviceStates({ updatedAfter: '2026-11-23T02:14:08.000Z' })).map((x) => x.device)).toEqual(['door-3']);
      expect((await other.twin.loadDeviceStates({ updatedAfter: '2026-11-23T02:14:07.999Z' })).map((x) => x.device)).toEqual(['door-2', 'door-3']);
      expect(await other.twin.loadDeviceStates({ updatedAfter: '2026-11-23T02:14:09.500Z' })).toEqual([]);
      await s.twin.saveDeviceStates([{ device: 'door-1', state: { n: 4 }, updatedAt: '2026-11-23T02:15:00.000Z' }]);
      expect(await other.twin.loadDeviceStates({ updatedAfter: '2026-11-23T02:14:09.500Z' })).toEqual([{ device: 'door-1', state: { n: 4 }, updatedAt: '2026-11-23T02:15:00.000Z' }]);
      await expect(other.twin.loadDeviceStates({ updatedAfter: 'yesterday' })).rejects.toMatchObject({ code: 'STW_ERR_VALIDATION' });
    });

    it('keeps the last snapshot of a device given twice in one batch', async () => {
      await s.devices.register([device('door-1')]);
      await s.twin.saveDeviceStates([
        { device: 'door-1', state: { n: 1 }, updatedAt: '2026-11-23T02:14:07.000Z' },
        { device: 'door-1', state: { n: 2 }, updatedAt: '2026-11-23T02:14:08.000Z' },
      ]);
      expect(await s.twin.loadDeviceStates()).toEqual([{ device: 'door-1', state: { n: 2 }, updatedAt: '2026-11-23T02:14:08.000Z' }]);
    });

    it('drops a snapshot with its device; a device registered again starts without one', async () => {
      await s.devices.register([device('door-1'), device('door-2')]);
      await s.twin.saveDeviceStates([
        { device: 'door-1', state: { door: 'open' }, updatedAt: '2026-11-23T02:14:07.000Z' },
        { device: 'door-2', state: { door: 'open' }, updatedAt: '2026-11-23T02:14:07.000Z' },
      ]);
      await other.devices.delete('door-1');
      expect((await s.twin.loadDeviceStates()).map((x) => x.device)).toEqual(['door-2']);
      await s.devices.register([device('door-1')]);
      expect((await s.twin.loadDeviceStates()).map((x) => x.device)).toEqual(['door-2']);
    });

    it('refuses a batch with a time that is not ISO 8601, storing none of it', async () => {
      await s.devices.register([device('door-1')]);
      await expect(
        s.twin.saveDeviceStates([
          { device: 'door-1', state: { n: 1 }, updatedAt: '2026-11-23T02:14:07.000Z' },
          { device: 'door-1', state: { n: 2 }, updatedAt: 'yesterday' },
        ]),
      ).rejects.toMatchObject({ code: 'STW_ERR_VALIDATION' });
      expect(await s.twin.loadDeviceStates()).toEqual([]);
    });
  });
}
