/**
 * The registry's services over a test's SQLite storage, wired as the app wires them: the device
 * directory loaded from the device store, DeviceService keeping it fresh, UserService on the
 * account store.
 */
import { type SqliteStorage } from '../../server/sqlite-storage.ts';
import { UserService } from '../../server/auth/users.ts';
import { EventBus } from '../../server/events.ts';
import { DeviceDirectory } from '../../server/registry/directory.ts';
import { DeviceService, type SiteDirectory } from '../../server/registry/devices.ts';

export interface RegistryServices {
  directory: DeviceDirectory;
  devices: DeviceService;
  users: UserService;
}

export async function registryServices(storage: SqliteStorage, o: { sites: SiteDirectory; bus?: EventBus; now?: () => Date; sessionTtlMs?: number }): Promise<RegistryServices> {
  const directory = new DeviceDirectory(storage.devices);
  await directory.load();
  const devices = new DeviceService({ store: storage.devices, directory, accounts: storage.accounts, sites: o.sites, bus: o.bus ?? new EventBus() });
  const users = new UserService({
    accounts: storage.accounts,
    devices: directory,
    ...(o.now === undefined ? {} : { now: o.now }),
    ...(o.sessionTtlMs === undefined ? {} : { sessionTtlMs: o.sessionTtlMs }),
  });
  return { directory, devices, users };
}

/** A directory of the devices the store holds now (for readers such as history and footfall). */
export async function loadedDirectory(storage: Pick<SqliteStorage, 'devices'>): Promise<DeviceDirectory> {
  const directory = new DeviceDirectory(storage.devices);
  await directory.load();
  return directory;
}
