/**
 * Issue 9, item 12: two sites' cameras send the very same JPEG (a black night frame, a test
 * card). Each site's alarm must get its own snapshot, served to that site's users and to
 * nobody limited to the other site. Real app, real broker, cameras as real MQTT clients,
 * pictures fetched over HTTP with a user's bearer token.
 */
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderSnapshot } from '../../devices/shared/snapshot.ts';
import type { Alarm, SnapshotStatus } from '../../server/alarms/types.ts';
import { topics } from '../../server/broker/topics.ts';
import { adminToken, eventually, startTestApp, type TestApp } from '../helpers/app.ts';
import { connectDevice } from '../helpers/mqtt.ts';

const SHOP = { site: 'demo-shop', zone: 'cash-room', camera: 'shop-cam-cash' };
const HOTEL = { site: 'demo-hotel', zone: 'office', camera: 'hotel-cam-office' };
const PASSWORD = 'correct horse battery';

/** One frame, byte for byte, for both cameras. */
const FRAME = renderSnapshot({ label: 'Camera', time: '03:00:00', hour: 3, zoneKind: 'office', people: 0, random: () => 0.5 });

type Attached = Extract<SnapshotStatus, { status: 'attached' }>;

describe('the same picture from two sites', () => {
  let t: TestApp;
  const cameras: MqttClient[] = [];
  const attached = new Map<string, Attached>();

  /** A camera that answers every snapshot command with FRAME, over MQTT. */
  async function camera(place: typeof SHOP): Promise<void> {
    const { secret } = await t.app.devices.register({ id: place.camera, site: place.site, type: 'camera', zone: place.zone });
    const client = await connectDevice(t.mqttUrl, place.camera, secret);
    cameras.push(client);
    client.on('message', (_topic, payload) => {
      const { id } = JSON.parse(payload.toString('utf8')) as { id: string };
      void client.publishAsync(topics.snapshot(place.site, place.camera, id), FRAME, { qos: 1 });
    });
    await client.subscribeAsync(topics.cmd(place.site, place.camera), { qos: 1 });
    await eventually(() => t.app.broker.isConnected(place.camera));
  }

  async function alarmWithPicture(place: typeof SHOP): Promise<Attached> {
    const raised: Alarm = (await t.app.alarms.raise({
      site: place.site,
      zone: place.zone,
      device: null,
      rule: 'test-door-open',
      source: `door-${place.zone}`,
      severity: 'critical',
      message: { en: 'door opened', 'zh-CN': '门已打开' },
      autoClear: false,
      at: new Date().toISOString(),
    }))!;
    return eventually(() => attached.get(raised.id), 5000);
  }

  async function userToken(username: string, sites: string[]): Promise<string> {
    await t.app.users.createUser({ username, password: PASSWORD, role: 'operator', sites });
    const res = await fetch(`${t.httpUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password: PASSWORD }),
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { token: string }).token;
  }

  async function get(url: string, token: string): Promise<{ status: number; type: string | null; body: Buffer }> {
    const res = await fetch(`${t.httpUrl}${url}`, { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, type: res.headers.get('content-type'), body: Buffer.from(await res.arrayBuffer()) };
  }

  beforeAll(async () => {
    t = await startTestApp();
    t.app.bus.on('alarm.changed', ({ alarm }) => {
      if (alarm.snapshot?.status === 'attached') attached.set(alarm.id, alarm.snapshot);
    });
    await camera(SHOP);
    await camera(HOTEL);
  });

  afterAll(async () => {
    await Promise.all(cameras.map((c) => c.endAsync()));
    await t?.stop();
  });

  it('is two snapshots, each served only to its own site', async () => {
    // The first site's alarm first: before the fix its record took the picture's only id.
    const shopSnap = await alarmWithPicture(SHOP);
    const hotelSnap = await alarmWithPicture(HOTEL);
    expect(hotelSnap.url).not.toBe(shopSnap.url);
    expect(await t.app.snapshots.get(shopSnap.id)).toMatchObject({ site: SHOP.site, camera: SHOP.camera, bytes: FRAME.length });
    expect(await t.app.snapshots.get(hotelSnap.id)).toMatchObject({ site: HOTEL.site, camera: HOTEL.camera, bytes: FRAME.length });

    const hotelOnly = await userToken('hotel-only', [HOTEL.site]);
    const own = await get(hotelSnap.url, hotelOnly);
    expect(own.status).toBe(200);
    expect(own.type).toBe('image/jpeg');
    expect(own.body.equals(FRAME)).toBe(true);
    const other = await get(shopSnap.url, hotelOnly);
    expect(other.status).toBe(404);
    expect((JSON.parse(other.body.toString('utf8')) as { error: { code: string } }).error.code).toBe('STW_ERR_SNAPSHOT_NOT_FOUND');

    // And the other way round.
    const shopOnly = await userToken('shop-only', [SHOP.site]);
    expect((await get(shopSnap.url, shopOnly)).status).toBe(200);
    expect((await get(hotelSnap.url, shopOnly)).status).toBe(404);
    const admin = await adminToken(t.app);
    expect((await get(shopSnap.url, admin)).status).toBe(200);
    expect((await get(hotelSnap.url, admin)).status).toBe(200);
  });
});
