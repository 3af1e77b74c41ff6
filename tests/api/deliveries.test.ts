/**
 * GET /api/deliveries and POST /api/deliveries/{id}/retry. The shared harness takes no extra
 * route modules, so this file builds the same real app (SQLite file, UserService) with them.
 */
import { openSqliteStorage, type SqliteStorage } from '../../server/sqlite-storage.ts';
import { registryServices } from '../helpers/registry.ts';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpApp } from '../../server/api/app.ts';
import { deliveryRoutes } from '../../server/api/routes/deliveries.ts';
import type { UserService } from '../../server/auth/users.ts';
import { SqliteOutbox } from '../../server/notify/sqlite-outbox.ts';
import { createLogger } from '../../server/observability/logger.ts';
import { Metrics } from '../../server/observability/metrics.ts';

import type { Role } from '../../server/storage/types.ts';
import { demoSites, HOTEL, PASSWORD, SHOP } from './harness.ts';

let dir: string;
let storage: SqliteStorage;
let server: Server;
let base: string;
let outbox: SqliteOutbox;
let users: UserService;
let nudges = 0;

async function token(username: string, role: Role, sites: string[] = []): Promise<string> {
  await users.createUser({ username, password: PASSWORD, role, sites });
  return (await users.login(username, PASSWORD)).token;
}

async function call(method: string, path: string, tok?: string) {
  const res = await fetch(base + path, { method, headers: tok ? { authorization: `Bearer ${tok}` } : {} });
  return { status: res.status, body: (await res.json()) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'storetwin-deliveries-'));
  storage = openSqliteStorage(join(dir, 'storetwin.db'));
  const sites = await demoSites();
  const registry = await registryServices(storage, { sites });
  users = registry.users;
  outbox = new SqliteOutbox(storage.db);
  const app = createHttpApp({
    registry: registry.directory,
    accounts: storage.accounts,
    settings: storage.settings,
    events: storage.events,
    sites,
    twin: { siteState: () => null, deviceState: () => null },
    devices: registry.devices,
    users,
    metrics: new Metrics({ processMetrics: false }),
    logger: createLogger({ level: 'silent' }),
    routes: [deliveryRoutes(outbox, { nudge: () => void nudges++ })],
  });
  server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const now = Date.now();
  await outbox.insert([
    { idempotencyKey: 'h1:raised:0:ops', alarm: 'h1', site: HOTEL, channel: 'webhook', route: 'ops', payload: { event: 'raised' }, nextAttemptAt: now },
    { idempotencyKey: 'h1:raised:0:mail', alarm: 'h1', site: HOTEL, channel: 'email', route: 'mail', payload: { to: ['a@b.test'] }, nextAttemptAt: now },
    { idempotencyKey: 's1:raised:0:ops', alarm: 's1', site: SHOP, channel: 'webhook', route: 'ops', payload: { event: 'raised' }, nextAttemptAt: now },
  ]);
  const [first] = await outbox.claimDue(now, 1);
  await outbox.markDead(first!.id, 1, 'HTTP 404');
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((done) => server.close(() => done()));
  storage.close();
  await rm(dir, { recursive: true, force: true });
});

describe('/api/deliveries', () => {
  it('lists deliveries with filters; dead letters are visible', async () => {
    const admin = await token('admin1', 'admin');
    const all = await call('GET', '/api/deliveries', admin);
    expect(all.status).toBe(200);
    expect(all.body.items).toHaveLength(3);
    const dead = await call('GET', '/api/deliveries?state=dead', admin);
    expect(dead.body.items).toEqual([expect.objectContaining({ idempotencyKey: 'h1:raised:0:ops', state: 'dead', lastError: 'HTTP 404', attempts: 1 })]);
    expect(typeof dead.body.items[0].createdAt).toBe('string');
    expect((await call('GET', `/api/deliveries?site=${SHOP}`, admin)).body.items).toHaveLength(1);
    expect((await call('GET', '/api/deliveries?alarm=h1', admin)).body.items).toHaveLength(2);
    const page = await call('GET', '/api/deliveries?limit=2', admin);
    expect(page.body.nextCursor).not.toBeNull();
    expect((await call('GET', `/api/deliveries?limit=2&cursor=${page.body.nextCursor}`, admin)).body.items).toHaveLength(1);
    expect((await call('GET', '/api/deliveries?state=lost', admin)).status).toBe(400);
  });

  it('needs alarms:read and keeps other sites out of view', async () => {
    expect((await call('GET', '/api/deliveries')).status).toBe(401);
    const tech = await token('tech1', 'technician');
    expect((await call('GET', '/api/deliveries', tech)).body.error.code).toBe('STW_ERR_FORBIDDEN');
    const shopOnly = await token('shop1', 'manager', [SHOP]);
    const seen = await call('GET', '/api/deliveries', shopOnly);
    expect(seen.body.items.map((d: { site: string }) => d.site)).toEqual([SHOP]);
    expect((await call('GET', `/api/deliveries?site=${HOTEL}`, shopOnly)).status).toBe(404);
  });

  it('retry sends a dead delivery again (integrations:manage), 404 for unknown, 409 when delivered', async () => {
    const admin = await token('admin2', 'admin');
    const manager = await token('manager2', 'manager');
    const dead = (await call('GET', '/api/deliveries?state=dead', admin)).body.items[0];
    expect((await call('POST', `/api/deliveries/${dead.id}/retry`, manager)).status).toBe(403);

    const before = nudges;
    const retried = await call('POST', `/api/deliveries/${dead.id}/retry`, admin);
    expect(retried.status).toBe(200);
    expect(retried.body.delivery).toMatchObject({ id: dead.id, state: 'pending', attempts: 0 });
    expect(nudges).toBe(before + 1);

    expect((await call('POST', '/api/deliveries/999999/retry', admin)).body.error.code).toBe('STW_ERR_DELIVERY_NOT_FOUND');
    await outbox.markDelivered(dead.id, 1, Date.now());
    const again = await call('POST', `/api/deliveries/${dead.id}/retry`, admin);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('STW_ERR_DELIVERY_NOT_RETRYABLE');
  });
});
