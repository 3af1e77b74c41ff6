/**
 * What the admin commands (device, user) need: the registry and the site catalogue opened
 * straight from the data directory. SQLite in WAL mode lets them run beside a live server;
 * the server reads the registry on every device CONNECT, so a device added here can connect
 * at once.
 *
 * The provisioning commands (`user add`, `device add`) also work before the server ever ran:
 * with `create` they lay the data directory out as the server's first start does
 * (prepareDataDir), so an installer can create the first admin and the devices' secrets
 * first and start the server afterwards.
 */
import path from 'node:path';
import { siteDirs } from '../app.ts';
import type { Config } from '../config.ts';
import { prepareDataDir } from '../data-dir.ts';
import { EventBus } from '../events.ts';
import { DeviceService } from '../registry/devices.ts';
import { UserService } from '../auth/users.ts';
import { SiteCatalog } from '../sites/catalog.ts';
import { openSqliteStorage } from '../storage/sqlite/index.ts';
import { BrokerPasswordStore } from '../broker/external/password-store.ts';

export interface OfflineContext {
  storage: ReturnType<typeof openSqliteStorage>;
  sites: SiteCatalog;
  devices: DeviceService;
  users: UserService;
  close(): void;
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
  // Secrets issued here reach an external broker's password file like the server's own do.
  const issuedSecrets = new BrokerPasswordStore(storage.db);
  const devices = new DeviceService({ registry: storage.registry, sites, bus: new EventBus(), issuedSecrets });
  const users = new UserService({ registry: storage.registry, issuedSecrets });
  return { storage, sites, devices, users, close: () => storage.close() };
}
