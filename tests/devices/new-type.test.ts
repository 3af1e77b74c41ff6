/**
 * A new device model is one module plus one line in devices/index.ts. Here two models that
 * exist only in this test (tests/devices/fake-types.ts: another make of people counter and of
 * camera) are registered exactly so — the catalogue built by `catalogueOf` from the shipped
 * list plus them — and the real app (broker, ingest, twin, rules, linkage, history, API, on a
 * real SQLite file) must treat them by what they can do: every server path that used to test
 * the ids `footfall-counter` and `camera` now asks `count`, `motion` and `snapshot`.
 *
 * The site is the demo shop with the ACME counter and camera in it (tests/devices/acme-shop.ts).
 */
import { copyFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type * as Catalogue from '../../devices/index.ts';
import { placementFieldsOf } from '../../devices/index.ts';
import type { DeviceTypeInfo } from '../../server/api/routes/device-types.ts';
import { defaultDeviceId } from '../../server/cli/device-commands.ts';
import { REPO_ROOT } from '../../server/config.ts';
import { localDayStart } from '../../server/history/local-time.ts';
import type { Alarm } from '../../server/alarms/types.ts';
import { validateSite } from '../../server/sites/validate.ts';
import { SiteSimulator } from '../../simulators/site-simulator.ts';
import { SiteLayout } from '../../dashboard/src/twin/layout.ts';
import type { SiteModel } from '../../dashboard/src/twin/types.ts';
import { adminToken, eventually, startTestApp, tempDir, type TestApp } from '../helpers/app.ts';
import { connectDevice } from '../helpers/mqtt.ts';
import { ACME_CAMERA as CAMERA, ACME_COUNTER as COUNTER, acmeShop } from './acme-shop.ts';

// The catalogue with the two extra types, as if devices/index.ts listed them.
vi.mock('../../devices/index.ts', async (importOriginal) => {
  const real = await importOriginal<typeof Catalogue>();
  const { FAKE_TYPES } = await import('./fake-types.ts');
  return { ...real, ...real.catalogueOf([...real.deviceTypes, ...FAKE_TYPES]) };
});

const SHOP = 'demo-shop';
const DOOR = 'shop-door-cash';

describe('a device type registered in devices/index.ts is all a new model needs', () => {
  let t: TestApp;
  let sitesDir: string;
  let token: string;
  let sim: SiteSimulator;
  const clients: MqttClient[] = [];
  const alarms: Alarm[] = [];

  const api = async (method: string, url: string, body?: unknown) => {
    const res = await fetch(`${t.httpUrl}${url}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json().catch(() => null)) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
  };
  const register = async (id: string, type: string, zone: string): Promise<string> => {
    const res = await api('POST', '/api/devices', { id, site: SHOP, type, zone });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.secret as string;
  };

  beforeAll(async () => {
    sitesDir = await tempDir('storetwin-acme-sites-');
    await writeFile(path.join(sitesDir, 'demo-shop.json'), JSON.stringify(await acmeShop()));
    await copyFile(path.join(REPO_ROOT, 'sites', 'demo-hotel.yaml'), path.join(sitesDir, 'demo-hotel.yaml'));
    // The site schema and validation take the new types and their placement fields, or this fails.
    t = await startTestApp({ sitesDirs: [sitesDir] });
    token = await adminToken(t.app);
    t.app.bus.on('alarm.changed', ({ alarm }) => alarms.push(alarm));
  });

  afterAll(async () => {
    await sim?.stop();
    for (const c of clients) await c.endAsync();
    await t?.stop();
    await rm(sitesDir, { recursive: true, force: true });
  });

  it('serves the new types in GET /api/device-types with what their capabilities allow', async () => {
    const res = await api('GET', '/api/device-types');
    expect(res.status).toBe(200);
    const byId = new Map((res.body.items as DeviceTypeInfo[]).map((i) => [i.id, i]));
    expect(byId.get('acme-people-counter')).toMatchObject({ idPrefix: 'acme-pc', capabilities: ['count', 'heartbeat'], placement: ['counts'] });
    expect(byId.get('acme-nvr-camera')).toMatchObject({ idPrefix: 'acme-cam', capabilities: ['motion', 'snapshot', 'heartbeat'], placement: ['watches', 'fov'] });
  });

  it('refuses a placement field the new type cannot use, naming the capability it takes', async () => {
    const shop = await acmeShop();
    shop.devices!.find((d) => d.id === CAMERA)!.counts = 'sales-hall';
    const result = validateSite(shop);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const i = shop.devices!.findIndex((d) => d.id === CAMERA);
    expect(result.problems).toEqual([{ path: `devices[${i}].counts`, message: 'only a device type that can "count" has "counts"; a acme-nvr-camera cannot' }]);
    expect(placementFieldsOf('acme-nvr-camera')).not.toContain('counts');
  });

  it('counts footfall into the hall: live occupancy and the footfall API', async () => {
    // Placed (counts: sales-hall from the site file) and registered only (counts where it hangs).
    const extra = defaultDeviceId('acme-people-counter', 'sales-hall');
    expect(extra).toBe('acme-pc-sales-hall');
    const placed = await connectDevice(t.mqttUrl, COUNTER, await register(COUNTER, 'acme-people-counter', 'entrance-south'));
    const loose = await connectDevice(t.mqttUrl, extra, await register(extra, 'acme-people-counter', 'sales-hall'));
    clients.push(placed, loose);
    await placed.publishAsync(`storetwin/${SHOP}/${COUNTER}/up`, JSON.stringify({ type: 'count', in: 7, out: 2, period: 60, seq: 1 }), { qos: 1 });
    await loose.publishAsync(`storetwin/${SHOP}/${extra}/up`, JSON.stringify({ type: 'count', in: 3, out: 1, period: 60, seq: 1 }), { qos: 1 });

    await eventually(() => t.app.twin.siteState(SHOP)?.zones['sales-hall']?.occupancy === 7);
    // The entrance the counter hangs in is not where its counts go.
    expect(t.app.twin.siteState(SHOP)?.zones['entrance-south']?.occupancy ?? 0).toBe(0);

    const res = await api('GET', `/api/footfall?site=${SHOP}&zone=sales-hall`);
    expect(res.status).toBe(200);
    expect(res.body.counters).toEqual([
      { device: extra, zone: 'sales-hall', counts: 'sales-hall' },
      // The other entrance's counter is still the built-in type (placed, not registered).
      { device: 'shop-counter-north', zone: 'entrance-north', counts: 'sales-hall' },
      { device: COUNTER, zone: 'entrance-south', counts: 'sales-hall' },
    ]);
    expect(res.body.total).toMatchObject({ in: 10, out: 3 });
  });

  it('folds its counts from local midnight into the replayed occupancy', async () => {
    const client = clients[0]!;
    const midnight = localDayStart(Date.now() - 86_400_000, 'Asia/Shanghai');
    const at = (hours: number) => new Date(midnight + hours * 3_600_000).toISOString();
    // Before the history's two-hour state lookback: only the counter walk of history.ts reads it.
    await client.publishAsync(`storetwin/${SHOP}/${COUNTER}/up`, JSON.stringify({ type: 'count', in: 20, out: 4, period: 60, seq: 2, ts: at(1) }), { qos: 1 });
    const res = await api('GET', `/api/sites/${SHOP}/history?from=${at(5)}&to=${at(6)}`);
    expect(res.status).toBe(200);
    expect(res.body.lookback).toEqual({ state: at(3), occupancy: at(0) });
    expect(res.body.state.zones['sales-hall'].occupancy).toBe(16);
  });

  it('takes the camera’s motion for the zone it watches and asks it for the alarm picture', async () => {
    sim = new SiteSimulator({
      url: t.mqttUrl,
      site: t.app.sites.get(SHOP)!,
      devices: [
        { id: CAMERA, type: 'acme-nvr-camera', zone: 'back-corridor', label: 'Cash room (ACME)' },
        { id: DOOR, type: 'door-sensor', zone: 'cash-room' },
      ],
      credentials: { [CAMERA]: await register(CAMERA, 'acme-nvr-camera', 'back-corridor'), [DOOR]: await register(DOOR, 'door-sensor', 'cash-room') },
      speed: 1,
      paused: true,
      boot: false,
    });
    await sim.start();
    await eventually(() => t.app.broker.isConnected(CAMERA) && t.app.broker.isConnected(DOOR));
    expect((await api('POST', `/api/sites/${SHOP}/zones/cash-room/arm`, {})).status).toBe(200);

    await sim.act(DOOR, 'open');
    await sim.act(CAMERA, 'motion');
    // Door opened + motion seen in the cash room within 60 s: the camera's motion counted there
    // only because it watches the cash room (it hangs in the back corridor).
    const intrusion = await eventually(() => alarms.find((a) => a.rule === 'shop-intrusion-confirmed' && a.zone === 'cash-room'));
    const attached = await eventually(async () => {
      const a = await t.app.alarms.get(intrusion.id);
      return a?.snapshot?.status === 'attached' ? a.snapshot : null;
    });
    expect(attached.camera).toBe(CAMERA);
    expect(await t.app.snapshots.get(attached.id)).toMatchObject({ site: SHOP, camera: CAMERA });
  });

  it('is drawn by the dashboard by its capabilities: a camera with its view, a counter', async () => {
    const [model, types] = await Promise.all([api('GET', `/api/sites/${SHOP}`), api('GET', '/api/device-types')]);
    const layout = new SiteLayout(model.body as SiteModel, 'en', types.body.items as DeviceTypeInfo[]);
    const kind = (id: string) => layout.devices[layout.deviceById.get(id)!];
    expect(kind(CAMERA)).toMatchObject({ kind: 'camera', fov: { heading: 0, angle: 90, range: 6 } });
    expect(kind(COUNTER)).toMatchObject({ kind: 'counter', fov: null });
    expect(kind('acme-pc-sales-hall')?.kind).toBe('counter');
    expect(kind(DOOR)).toMatchObject({ kind: 'sensor', fov: null });
  });
});
