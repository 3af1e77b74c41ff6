/**
 * The device directory (server/registry/directory.ts): what the hot paths read instead of the
 * store, and how it learns of devices written by another process (the CLI beside the server,
 * later another worker) — a lookup of an unknown id reads the store once; a moved version
 * reloads everything.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeviceDirectory } from '../../server/registry/directory.ts';
import type { MakeRegistryStores, RegistryStores } from '../helpers/registry-stores.ts';
import { device } from './device-store.contract.ts';

/** Run on SQLite (sqlite-directory.test.ts) and PostgreSQL (postgres-directory.test.ts, where `cli` is another worker). */
export function directoryTests(name: string, make: MakeRegistryStores, opts: { announcesWrites: boolean }): void {
  describe(`DeviceDirectory: ${name}`, () => {
    let s: RegistryStores;
    let cli: RegistryStores;
    let cleanup: () => Promise<void>;
    let directory: DeviceDirectory;

    beforeEach(async () => {
      ({ stores: s, other: cli, cleanup } = await make());
      await s.devices.register([device('door-b', { externalIds: { imei: '2' } }), device('door-a', { externalIds: { imei: '1' } })]);
      directory = new DeviceDirectory(s.devices);
      await directory.load();
    });
    afterEach(async () => {
      directory.stop();
      await cleanup();
    });

    it('answers from memory: by id, all in id order, by external id', () => {
      expect(directory.getDevice('door-a')?.externalIds).toEqual({ imei: '1' });
      expect(directory.getDevice('nope')).toBeNull();
      expect(directory.allDevices().map((d) => d.id)).toEqual(['door-a', 'door-b']);
      expect(directory.findDeviceByExternalId('imei', '2')?.id).toBe('door-b');
      expect(directory.findDeviceByExternalId('ctwing', '2')).toBeNull();
      // A fresh array each time: a caller sorting or trimming it changes nothing here.
      directory.allDevices().length = 0;
      expect(directory.size).toBe(2);
    });

    it('follows what the service puts and removes, external ids included', () => {
      directory.put({ ...directory.getDevice('door-a')!, externalIds: { imei: '9' } });
      directory.put(device('door-0'));
      expect(directory.findDeviceByExternalId('imei', '1')).toBeNull();
      expect(directory.findDeviceByExternalId('imei', '9')?.id).toBe('door-a');
      expect(directory.allDevices().map((d) => d.id)).toEqual(['door-0', 'door-a', 'door-b']);
      directory.remove('door-b');
      expect(directory.findDeviceByExternalId('imei', '2')).toBeNull();
      expect(directory.allDevices().map((d) => d.id)).toEqual(['door-0', 'door-a']);
    });

    it('lists one site’s devices in id order, following puts, removals and reloads', async () => {
      const ids = (site: string) => directory.devicesOfSite(site).map((d) => d.id);
      expect(ids('site-a')).toEqual(['door-a', 'door-b']);
      expect(ids('site-b')).toEqual([]);
      directory.put(device('door-c', { site: 'site-b' }));
      directory.put({ ...directory.getDevice('door-a')!, site: 'site-b' });
      expect(ids('site-a')).toEqual(['door-b']);
      expect(ids('site-b')).toEqual(['door-a', 'door-c']);
      directory.remove('door-c');
      expect(ids('site-b')).toEqual(['door-a']);
      // A fresh array: a caller trimming it changes nothing here.
      directory.devicesOfSite('site-b').length = 0;
      expect(ids('site-b')).toEqual(['door-a']);
      await cli.devices.register([device('door-d', { site: 'site-b' })]);
      await directory.refresh();
      expect(ids('site-a')).toEqual(['door-a', 'door-b']);
      expect(ids('site-b')).toEqual(['door-d']);
    });

    it('reads a device it does not know from the store once (a CONNECT of a device the CLI just added)', async () => {
      await cli.devices.register([device('door-cli')]);
      expect(directory.getDevice('door-cli')).toBeNull();
      expect((await directory.lookup('door-cli'))?.id).toBe('door-cli');
      expect(directory.getDevice('door-cli')?.id).toBe('door-cli');
      expect(await directory.lookup('door-never')).toBeNull();
    });

    it('reloads when another process changed devices, and only then', async () => {
      await cli.devices.update('door-a', { enabled: false });
      await cli.devices.delete('door-b');
      expect(directory.getDevice('door-a')?.enabled).toBe(true);
      await directory.refresh();
      expect(directory.getDevice('door-a')?.enabled).toBe(false);
      expect(directory.getDevice('door-b')).toBeNull();
      expect(directory.findDeviceByExternalId('imei', '2')).toBeNull();
      // Nothing changed since: a put stays (no reload throws it away).
      directory.put(device('door-local'));
      await directory.refresh();
      expect(directory.getDevice('door-local')).not.toBeNull();
    });

    it(opts.announcesWrites ? "hears another worker's write at once, between polls" : 'learns of another process\'s write by its poll only (SQLite announces nothing)', async () => {
      await directory.start(60_000);
      await cli.devices.delete('door-a');
      if (opts.announcesWrites) {
        await expect.poll(() => directory.getDevice('door-a'), { timeout: 3000, interval: 20 }).toBeNull();
      } else {
        await new Promise((r) => setTimeout(r, 300));
        expect(directory.getDevice('door-a')).not.toBeNull();
      }
    });

    it('polls the store on start()', async () => {
      await directory.start(20);
      await cli.devices.delete('door-a');
      await expect.poll(() => directory.getDevice('door-a'), { timeout: 2000 }).toBeNull();
    });
  });
}
