/**
 * The real path: a StoreTwin app (real aedes broker, real ingest, real SQLite), a simulated
 * camera over MQTT answering the snapshot command with its rendered JPEG, the real alarm
 * service raising the alarm, and the SnapshotLinker in between.
 */
import { readFile } from 'node:fs/promises';
import jpeg from 'jpeg-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SNAPSHOT_HEIGHT, SNAPSHOT_WIDTH } from '../../devices/shared/snapshot.ts';
import type { AlarmService } from '../../server/alarms/service.ts';
import type { Alarm, AlarmTrigger } from '../../server/alarms/types.ts';
import type { SnapshotStore } from '../../server/linkage/snapshot-store.ts';
import { SiteSimulator } from '../../simulators/site-simulator.ts';
import { adminToken, eventually, startTestApp, type TestApp } from '../helpers/app.ts';

const SHOP = 'demo-shop';

function trigger(zone: string, source: string): AlarmTrigger {
  return {
    site: SHOP,
    zone,
    device: null,
    rule: 'test-door-open',
    source,
    severity: 'critical',
    message: { en: 'door opened', 'zh-CN': '门已打开' },
    autoClear: false,
    at: new Date().toISOString(),
  };
}

describe('door–camera linkage over the real broker', () => {
  let t: TestApp;
  let sim: SiteSimulator;
  let alarms: AlarmService;
  let store: SnapshotStore;
  let base: string;
  let token: string;
  const changes: Array<{ alarm: Alarm; action: string; at: number }> = [];

  beforeAll(async () => {
    t = await startTestApp();
    const { app } = t;
    const { secret } = await app.devices.register({ id: 'shop-cam-cash', site: SHOP, type: 'camera', zone: 'cash-room', label: 'Cash room' });
    // Registered, never connected: an offline camera.
    await app.devices.register({ id: 'shop-cam-office', site: SHOP, type: 'camera', zone: 'back-office' });
    sim = new SiteSimulator({
      url: t.mqttUrl,
      site: app.sites.get(SHOP)!,
      devices: [{ id: 'shop-cam-cash', type: 'camera', zone: 'cash-room', label: 'Cash room' }],
      credentials: { 'shop-cam-cash': secret },
      speed: 1,
      paused: true,
      boot: false,
    });
    await sim.start();
    await eventually(() => app.broker.isConnected('shop-cam-cash'));

    // The app's own alarm service, linker and snapshot store, as wired in server/app.ts.
    alarms = app.alarms;
    store = app.snapshots;
    app.bus.on('alarm.changed', ({ alarm, action }) => changes.push({ alarm, action, at: performance.now() }));
    base = t.httpUrl;
    token = await adminToken(app);
  });

  afterAll(async () => {
    await sim?.stop();
    await t?.stop();
  });

  it('attaches the camera picture to an alarm in its zone', async () => {
    const started = performance.now();
    const raised = (await alarms.raise(trigger('cash-room', 'shop-door-cash')))!;
    // The alarm is out before any camera is asked: raise() returns and announces at once.
    expect(raised.snapshot).toBeNull();
    expect(changes.find((c) => c.alarm.id === raised.id)?.action).toBe('raised');

    const attached = await eventually(() => changes.find((c) => c.alarm.id === raised.id && c.alarm.snapshot?.status === 'attached') ?? null, 3000, 5);
    if (!attached) throw new Error('never attached');
    const ms = attached.at - started;
    console.log(`snapshot attached ${ms.toFixed(1)} ms after the alarm was raised`);
    // Speed is measured by npm run bench:alarms; here only that the picture comes before the linker gives up (5 s).
    expect(ms).toBeLessThan(5000);

    const actions = changes.filter((c) => c.alarm.id === raised.id).map((c) => `${c.action}:${c.alarm.snapshot?.status ?? '-'}`);
    expect(actions).toEqual(['raised:-', 'snapshot:pending', 'snapshot:attached']);
    const snap = attached.alarm.snapshot;
    if (snap?.status !== 'attached') throw new Error('not attached');
    expect(snap.camera).toBe('shop-cam-cash');
    expect(snap.url).toBe(`/api/snapshots/${snap.id}`);
    expect((await alarms.get(raised.id))?.snapshot).toEqual(snap);

    // Stored content-addressed, decodes as the camera's frame.
    const file = store.filePath(snap.id);
    expect(file).toContain(`/snapshots/${snap.id.slice(0, 2)}/${snap.id}.jpg`);
    const bytes = await readFile(file);
    const image = jpeg.decode(bytes);
    expect([image.width, image.height]).toEqual([SNAPSHOT_WIDTH, SNAPSHOT_HEIGHT]);
    expect(await store.get(snap.id)).toMatchObject({ site: SHOP, camera: 'shop-cam-cash', bytes: bytes.length });

    // Served by the API as an immutable JPEG.
    const res = await fetch(`${base}${snap.url}`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    expect(res.headers.get('cache-control')).toContain('immutable');
    expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
    expect((await fetch(`${base}${snap.url}`)).status).toBe(401);
    const missing = await fetch(`${base}/api/snapshots/${'0'.repeat(64)}`, { headers: { authorization: `Bearer ${token}` } });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('STW_ERR_SNAPSHOT_NOT_FOUND');
  });

  it('attaches pictures to five more alarms in a row', async () => {
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      const raised = (await alarms.raise(trigger('cash-room', `warm-${i}`)))!;
      const attached = await eventually(() => changes.find((c) => c.alarm.id === raised.id && c.alarm.snapshot?.status === 'attached') ?? null, 3000, 2);
      times.push(attached!.at - started);
    }
    console.log(`warm snapshot attach ms: ${times.map((t) => t.toFixed(1)).join(', ')}`);
    expect(Math.max(...times)).toBeLessThan(5000);
  });

  it('does not wake the cameras for a minor alarm (low battery)', async () => {
    const minor = (await alarms.raise({ ...trigger('cash-room', 'shop-door-cash-battery'), rule: 'test-low-battery', severity: 'minor' }))!;
    await new Promise((r) => setTimeout(r, 300));
    expect((await alarms.get(minor.id))?.snapshot).toBeNull();
  });

  it('says so when no camera watches the zone, or the camera is offline', async () => {
    const none = (await alarms.raise(trigger('storage', 'shop-storage')))!;
    const noCamera = await eventually(async () => (await alarms.get(none.id))?.snapshot);
    expect(noCamera).toEqual({ status: 'none', reason: 'no camera watches zone storage' });

    const office = (await alarms.raise(trigger('back-office', 'shop-office')))!;
    const offline = await eventually(async () => (await alarms.get(office.id))?.snapshot);
    expect(offline).toMatchObject({ status: 'none', reason: expect.stringContaining('offline') });
  });

  it('hides snapshots of sites the user cannot see', async () => {
    const hotelOnly = await t.app.users.createUser({ username: 'hotel-op', password: 'correct horse battery', role: 'operator', sites: ['demo-hotel'] });
    expect(hotelOnly.sites).toEqual(['demo-hotel']);
    const { token: hotelToken } = await t.app.users.login('hotel-op', 'correct horse battery');
    const withSnap = changes.find((c) => c.alarm.snapshot?.status === 'attached')!.alarm.snapshot;
    if (withSnap?.status !== 'attached') throw new Error('no snapshot');
    const res = await fetch(`${base}${withSnap.url}`, { headers: { authorization: `Bearer ${hotelToken}` } });
    expect(res.status).toBe(404);
  });
});
