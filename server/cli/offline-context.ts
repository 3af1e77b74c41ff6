/**
 * What the admin commands (device, user) need: the registry and the site catalogue opened
 * straight from the data directory. SQLite in WAL mode lets them run beside a live server;
 * the server reads a device it does not know yet from the store at its CONNECT, so a device
 * added here can connect at once, and it follows the store's version (server/registry/
 * directory.ts), so a secret rotated or a device removed here stops working within seconds.
 *
 * The provisioning commands (`user add`, `device add`) also work before the server ever ran:
 * with `create` they lay the data directory out as the server's first start does
 * (prepareDataDir), so an installer can create the first admin and the devices' secrets
 * first and start the server afterwards.
 */
import { openSqliteStorage } from '../sqlite-storage.ts';
import { createAccountStore, createDeviceStore } from '../stores.ts';
import path from 'node:path';
import { siteDirs } from '../app.ts';
import type { Config } from '../config.ts';
import { prepareDataDir } from '../data-dir.ts';
import { EventBus } from '../events.ts';
import { DeviceService } from '../registry/devices.ts';
import { UserService } from '../auth/users.ts';
import { SiteCatalog } from '../sites/catalog.ts';

import type { StorageBackend } from '../storage/backend.ts';
import { openBackend } from '../backend.ts';

import { DeviceDirectory } from '../registry/directory.ts';

export interface OfflineContext {
  storage: ReturnType<typeof openSqliteStorage>;
  /** Where devices, accounts and the audit log live: this SQLite file, or the server's PostgreSQL (STORETWIN_DATABASE_URL). */
  backend: StorageBackend;
  /** The devices, loaded once for this command. */
  directory: DeviceDirectory;
  sites: SiteCatalog;
  devices: DeviceService;
  users: UserService;
  close(): Promise<void>;
}

export interface OfflineContextOptions {
  /**
   * Create the data directory if it does not exist yet (commands that add something). Without
   * it a read or remove on a mistyped path fails rather than leaving an empty directory behind.
   */
  create?: boolean;
}

export async function openOfflineContext(config: Config, opts: OfflineContextOptions = {}): Promise<OfflineContext> {
  if (opts.create) prepareDataDir(config);
  const sites = await SiteCatalog.load(siteDirs(config));
  const storage = openSqliteStorage(path.join(config.dataDir, 'storetwin.db'));
  const opened = await openBackend(config.databaseUrl, storage.db).catch((err: unknown) => {
    storage.close();
    throw err;
  });
  const deviceStore = createDeviceStore(opened.backend);
  const accounts = createAccountStore(opened.backend);
  const directory = new DeviceDirectory(deviceStore);
  await directory.load();
  // Secrets issued here reach an external broker's password file like the server's own do:
  // the stores write their lines with the device or token.
  const devices = new DeviceService({ store: deviceStore, directory, accounts, sites, bus: new EventBus() });
  const users = new UserService({ accounts, devices: directory });
  return {
    storage,
    backend: opened.backend,
    directory,
    sites,
    devices,
    users,
    async close() {
      directory.stop();
      await opened.close();
      storage.close();
    },
  };
}
