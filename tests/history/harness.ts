/**
 * The API with the history, footfall and dashboard routes, on a real SQLite file and a real
 * HTTP port (the shape of tests/api/harness.ts, plus `routes`). The twin is the given reader.
 */
import { openSqliteStorage, type SqliteStorage } from '../../server/sqlite-storage.ts';
import { registryServices } from '../helpers/registry.ts';
import type { DeviceDirectory } from '../../server/registry/directory.ts';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHttpApp } from '../../server/api/app.ts';
import type { ApiDeps, ApiRouteModule } from '../../server/api/types.ts';
import { createLogger } from '../../server/observability/logger.ts';
import { Metrics } from '../../server/observability/metrics.ts';
import type { SiteCatalog } from '../../server/sites/catalog.ts';

import type { Role } from '../../server/storage/types.ts';
import type { TwinReader } from '../../server/twin/types.ts';
import { demoSites, PASSWORD, type ApiResponse, type RequestOptions } from '../api/harness.ts';

export interface RoutesHarness {
  base: string;
  dir: string;
  storage: SqliteStorage;
  /** The devices in memory, as the routes read them. */
  directory: DeviceDirectory;
  sites: SiteCatalog;
  userToken(username: string, role: Role, sites?: string[]): Promise<string>;
  request(method: string, path: string, opts?: RequestOptions): Promise<ApiResponse>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  routes: (storage: SqliteStorage) => ApiRouteModule[];
  twin?: TwinReader;
  /** Reuse a database file (e.g. one generated once for several tests). */
  dbFile?: string;
}

export async function startRoutes(opts: HarnessOptions): Promise<RoutesHarness> {
  const dir = await mkdtemp(join(tmpdir(), 'storetwin-history-'));
  const storage = openSqliteStorage(opts.dbFile ?? join(dir, 'storetwin.db'));
  const sites = await demoSites();
  const { directory, devices, users } = await registryServices(storage, { sites });
  const deps: ApiDeps = {
    registry: directory,
    accounts: storage.accounts,
    settings: storage.settings,
    events: storage.events,
    sites,
    twin: opts.twin ?? { siteState: () => null, deviceState: () => null },
    devices,
    users,
    metrics: new Metrics({ processMetrics: false }),
    logger: createLogger({ level: 'silent' }),
    routes: opts.routes(storage),
  };
  const server: Server = createHttpApp(deps).listen(0, '127.0.0.1');
  // The client (fetch) and this server share the test's event loop. When a test's assertions
  // hold it past the 5 s default, both keep-alive timers fire at once as the next request goes
  // out on the idle socket the server is closing: ECONNRESET. Idle sockets outlive any test.
  server.keepAliveTimeout = 120_000;
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    dir,
    storage,
    directory,
    sites,
    async userToken(username, role, userSites = []) {
      await users.createUser({ username, password: PASSWORD, role, sites: userSites });
      return (await users.login(username, PASSWORD)).token;
    },
    async request(method, path, o = {}) {
      const headers: Record<string, string> = { ...o.headers };
      if (o.token !== undefined) headers.authorization = `Bearer ${o.token}`;
      const res = await fetch(base + path, { method, headers });
      const text = await res.text();
      return { status: res.status, headers: res.headers, body: res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : undefined, text };
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
      storage.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
