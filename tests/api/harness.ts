/**
 * A real API for tests: a fresh SQLite file in a temp dir, the demo site files, the real
 * DeviceService and UserService, listening on 127.0.0.1 port 0. Only the twin is a fixed
 * object, because the state route merely passes it through.
 */
import { openSqliteStorage, type SqliteStorage } from '../../server/sqlite-storage.ts';
import { registryServices } from '../helpers/registry.ts';
import type { DeviceDirectory } from '../../server/registry/directory.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Server } from 'node:http';
import { createHttpApp } from '../../server/api/app.ts';
import type { ApiDeps, ApiOptions } from '../../server/api/types.ts';
import type { UserService } from '../../server/auth/users.ts';
import { EventBus } from '../../server/events.ts';
import { createLogger } from '../../server/observability/logger.ts';
import { Metrics } from '../../server/observability/metrics.ts';
import { SiteCatalog } from '../../server/sites/catalog.ts';

import type { Role } from '../../server/storage/types.ts';
import type { SiteState, TwinReader } from '../../server/twin/types.ts';

export const SITES_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../sites');
export const SHOP = 'demo-shop';
export const HOTEL = 'demo-hotel';
export const PASSWORD = 'correct horse battery';

/** The state the fake twin answers for every known site. */
export function fixedState(site: string): SiteState {
  return {
    site,
    zones: {
      'sales-hall': {
        id: 'sales-hall',
        site,
        floor: 'f1',
        door: null,
        doorChangedAt: null,
        occupancy: 12,
        capacity: 60,
        lastMotionAt: null,
      },
    },
    devices: {},
  };
}

let catalogPromise: Promise<SiteCatalog> | null = null;
/** Parsing the hotel (100+ rooms) once per test file is enough. */
export function demoSites(): Promise<SiteCatalog> {
  catalogPromise ??= SiteCatalog.load([SITES_DIR]);
  return catalogPromise;
}

export interface Harness {
  base: string;
  storage: SqliteStorage;
  /** The devices in memory, as the routes read them: put a device here after writing it to the store directly. */
  directory: DeviceDirectory;
  users: UserService;
  sites: SiteCatalog;
  metrics: Metrics;
  deps: ApiDeps;
  ready: { value: boolean };
  /** Creates a user directly in the service and returns a session token for it. */
  userToken(username: string, role: Role, sites?: string[]): Promise<string>;
  request(method: string, path: string, opts?: RequestOptions): Promise<ApiResponse>;
  close(): Promise<void>;
}

export interface RequestOptions {
  token?: string;
  body?: unknown;
  /** Sent as is, instead of JSON-encoding `body`. */
  rawBody?: string;
  headers?: Record<string, string>;
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  // Tests read into whatever shape they assert on.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  text: string;
}

export async function startApi(opts: { options?: ApiOptions; now?: () => Date } = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'storetwin-api-'));
  const storage = openSqliteStorage(join(dir, 'storetwin.db'));
  const sites = await demoSites();
  const bus = new EventBus();
  const { directory, devices, users } = await registryServices(storage, { sites, bus, ...(opts.now === undefined ? {} : { now: opts.now }) });
  const twin: TwinReader = {
    siteState: (site) => (sites.get(site) ? fixedState(site) : null),
    deviceState: () => null,
  };
  const metrics = new Metrics({ processMetrics: false });
  const ready = { value: true };
  const deps: ApiDeps = {
    registry: directory,
    accounts: storage.accounts,
    settings: storage.settings,
    events: storage.events,
    sites,
    twin,
    devices,
    users,
    metrics,
    logger: createLogger({ level: 'silent' }),
    ready: () => ready.value,
    options: opts.options,
  };
  const app = createHttpApp(deps);
  const server: Server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;

  async function request(method: string, path: string, o: RequestOptions = {}): Promise<ApiResponse> {
    const headers: Record<string, string> = { ...o.headers };
    if (o.token !== undefined) headers.authorization = `Bearer ${o.token}`;
    let body: string | undefined;
    if (o.rawBody !== undefined) body = o.rawBody;
    // fetch refuses a body on GET and HEAD; route tables may pass one for every method.
    else if (o.body !== undefined && method !== 'GET' && method !== 'HEAD') body = JSON.stringify(o.body);
    if (body !== undefined) headers['content-type'] ??= 'application/json';
    const res = await fetch(base + path, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = undefined;
    if (res.headers.get('content-type')?.includes('json')) parsed = JSON.parse(text);
    return { status: res.status, headers: res.headers, body: parsed, text };
  }

  return {
    base,
    storage,
    directory,
    users,
    sites,
    metrics,
    deps,
    ready,
    async userToken(username, role, userSites = []) {
      await users.createUser({ username, password: PASSWORD, role, sites: userSites });
      return (await users.login(username, PASSWORD)).token;
    },
    request,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
      storage.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
