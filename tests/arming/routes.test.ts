import { createArmingStore } from '../../server/stores.ts';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpApp } from '../../server/api/app.ts';
import { armingRoutes } from '../../server/api/routes/arming.ts';
import { MaintenanceService } from '../../server/arming/maintenance.ts';
import { ArmingService } from '../../server/arming/service.ts';

import { ManualClock } from '../../server/clock.ts';
import { EventBus } from '../../server/events.ts';
import { HOTEL, SHOP, startApi, type Harness } from '../api/harness.ts';

describe('arming and maintenance routes', () => {
  let api: Harness;
  let server: Server;
  let base: string;
  const clock = new ManualClock(Date.parse('2026-11-23T02:00:00Z')); // Mon 10:00 in Shanghai
  const tokens: Record<string, string> = {};

  async function call(method: string, path: string, token: string | undefined, body?: unknown) {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  beforeAll(async () => {
    api = await startApi();
    const bus = new EventBus();
    const store = createArmingStore({ kind: 'sqlite', db: api.storage.db });
    const arming = new ArmingService({ store, sites: api.sites, bus, clock });
    const maintenance = new MaintenanceService({ store, sites: api.sites, registry: api.directory, clock });
    await arming.start();
    await maintenance.start();
    const app = createHttpApp({ ...api.deps, routes: [armingRoutes({ arming, maintenance })] });
    server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    tokens.admin = await api.userToken('root', 'admin');
    tokens.manager = await api.userToken('boss', 'manager');
    tokens.operator = await api.userToken('op', 'operator');
    tokens.tech = await api.userToken('tech', 'technician');
    tokens.hotelManager = await api.userToken('hotel-boss', 'manager', [HOTEL]);
    tokens.hotelTech = await api.userToken('hotel-tech', 'technician', [HOTEL]);
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await api.close();
  });

  it('lets a manager arm and disarm a zone with an optional until', async () => {
    const armed = await call('POST', `/api/sites/${SHOP}/zones/cash-room/arm`, tokens.manager, { until: '2026-11-23T04:00:00Z' });
    expect(armed.status).toBe(200);
    expect(armed.body.arming).toMatchObject({ zone: 'cash-room', armed: true, source: 'manual', by: 'boss', until: '2026-11-23T04:00:00.000Z' });

    const state = await call('GET', `/api/sites/${SHOP}/arming`, tokens.operator);
    expect(state.status).toBe(200);
    expect(state.body.at).toBe('2026-11-23T02:00:00.000Z');
    const byZone = Object.fromEntries((state.body.zones as Array<{ zone: string }>).map((z) => [z.zone, z]));
    expect(byZone['cash-room']).toMatchObject({ armed: true, source: 'manual' });
    expect(byZone['back-office']).toMatchObject({ armed: false, source: 'schedule', schedule: [{ from: '21:00', to: '09:00' }] });

    // No body at all: disarm until changed.
    const disarmed = await call('POST', `/api/sites/${SHOP}/zones/back-office/disarm`, tokens.admin);
    expect(disarmed.status).toBe(200);
    expect(disarmed.body.arming).toMatchObject({ armed: false, source: 'manual', until: null });

    const resumed = await call('DELETE', `/api/sites/${SHOP}/zones/back-office/arming`, tokens.admin);
    expect(resumed.body.arming).toMatchObject({ source: 'schedule' });
  });

  it('refuses roles without zones:arm, unknown zones, bad bodies and invisible sites', async () => {
    for (const token of [tokens.operator, tokens.tech]) {
      const res = await call('POST', `/api/sites/${SHOP}/zones/cash-room/arm`, token, {});
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('STW_ERR_FORBIDDEN');
    }
    expect((await call('POST', `/api/sites/${SHOP}/zones/nope/arm`, tokens.manager, {})).body.error.code).toBe('STW_ERR_ZONE_NOT_FOUND');
    expect((await call('POST', `/api/sites/nope/zones/cash-room/arm`, tokens.manager, {})).status).toBe(404);
    const past = await call('POST', `/api/sites/${SHOP}/zones/cash-room/arm`, tokens.manager, { until: '2020-01-01T00:00:00Z' });
    expect(past.status).toBe(400);
    const junk = await call('POST', `/api/sites/${SHOP}/zones/cash-room/arm`, tokens.manager, { until: 'tomorrow', x: 1 });
    expect(junk.body.error.code).toBe('STW_ERR_VALIDATION');
    // A hotel-only manager cannot see the shop: 404 like an unknown site, never 403.
    const hidden = await call('POST', `/api/sites/${SHOP}/zones/cash-room/arm`, tokens.hotelManager, {});
    expect(hidden.status).toBe(404);
    expect(hidden.body.error.code).toBe('STW_ERR_SITE_NOT_FOUND');
    expect((await call('GET', `/api/sites/${SHOP}/arming`, tokens.hotelManager)).status).toBe(404);
    expect((await call('GET', `/api/sites/${SHOP}/arming`, undefined)).status).toBe(401);
  });

  it('lets technicians open device windows, zones:arm open zone windows, and both list and end them', async () => {
    const created = await call('POST', '/api/maintenance', tokens.manager, { site: SHOP, zone: 'cash-room', until: '2026-11-23T03:00:00Z', reason: 'safe service' });
    expect(created.status).toBe(201);
    expect(created.body.maintenance).toMatchObject({ site: SHOP, zone: 'cash-room', by: 'boss', reason: 'safe service', active: true });
    const id = created.body.maintenance.id as number;
    const dev = await call('POST', '/api/maintenance', tokens.tech, { site: SHOP, device: 'shop-cam-cash', until: '2026-11-23T05:00:00Z', reason: 'sensor swap' });
    expect(dev.status).toBe(201);
    expect(dev.body.maintenance).toMatchObject({ device: 'shop-cam-cash', by: 'tech', reason: 'sensor swap' });

    // A zone window silences the zone like disarming: technicians (no zones:arm) may not, operators not at all.
    const zoneByTech = await call('POST', '/api/maintenance', tokens.tech, { site: SHOP, zone: 'cash-room', until: '2026-11-23T03:00:00Z' });
    expect(zoneByTech.status).toBe(403);
    expect(zoneByTech.body.error.code).toBe('STW_ERR_FORBIDDEN');
    expect((await call('POST', '/api/maintenance', tokens.operator, { site: SHOP, device: 'shop-cam-cash', until: '2026-11-23T03:00:00Z' })).status).toBe(403);
    // Technicians' device windows last at most 8 h; 10:00 + 8 h is fine, a minute more is not.
    expect((await call('POST', '/api/maintenance', tokens.tech, { site: SHOP, device: 'shop-door-cash', until: '2026-11-23T10:00:00Z' })).status).toBe(201);
    const long = await call('POST', '/api/maintenance', tokens.tech, { site: SHOP, device: 'shop-door-cash', until: '2026-11-23T10:01:00Z' });
    expect(long.status).toBe(400);
    expect(long.body.error.message).toContain('at most 8 h');
    expect((await call('POST', '/api/maintenance', tokens.admin, { site: SHOP, device: 'shop-door-cash', until: '2026-12-20T00:00:00Z' })).status).toBe(201);
    expect((await call('POST', '/api/maintenance', tokens.admin, { site: SHOP, device: 'shop-door-cash', until: '2036-01-01T00:00:00Z' })).status).toBe(400);
    expect((await call('POST', '/api/maintenance', tokens.tech, { site: SHOP, until: '2026-11-23T03:00:00Z' })).status).toBe(400);
    expect((await call('POST', '/api/maintenance', tokens.tech, { site: SHOP, device: 'ghost', until: '2026-11-23T03:00:00Z' })).body.error.code).toBe('STW_ERR_DEVICE_NOT_FOUND');
    expect((await call('POST', '/api/maintenance', tokens.hotelTech, { site: SHOP, device: 'shop-cam-cash', until: '2026-11-23T03:00:00Z' })).status).toBe(404);
    expect((await call('POST', '/api/maintenance', tokens.hotelManager, { site: SHOP, zone: 'cash-room', until: '2026-11-23T03:00:00Z' })).status).toBe(404);

    const list = await call('GET', `/api/maintenance?site=${SHOP}`, tokens.operator);
    expect(list.status).toBe(200);
    expect(list.body.items.map((w: { id: number }) => w.id).slice(0, 2)).toEqual([id, dev.body.maintenance.id]);
    const hotelList = await call('GET', '/api/maintenance', tokens.hotelTech);
    expect(hotelList.body.items).toEqual([]);

    expect((await call('DELETE', `/api/maintenance/${id}`, tokens.hotelTech)).status).toBe(404);
    expect((await call('DELETE', `/api/maintenance/${id}`, tokens.tech)).status).toBe(403);
    expect((await call('DELETE', `/api/maintenance/${id}`, tokens.operator)).status).toBe(403);
    const ended = await call('DELETE', `/api/maintenance/${id}`, tokens.manager);
    expect(ended.status).toBe(200);
    expect(ended.body.maintenance).toMatchObject({ id, active: false, until: '2026-11-23T02:00:00.000Z' });
    const devEnded = await call('DELETE', `/api/maintenance/${dev.body.maintenance.id}`, tokens.tech);
    expect(devEnded.body.maintenance).toMatchObject({ active: false });
    expect((await call('DELETE', '/api/maintenance/99999', tokens.tech)).body.error.code).toBe('STW_ERR_MAINTENANCE_NOT_FOUND');
  });
});
