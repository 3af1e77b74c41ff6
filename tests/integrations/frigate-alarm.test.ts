/**
 * The whole chain with a Frigate NVR (issue 10's bar): the cash room is armed, its door sensor
 * reports open over MQTT, Frigate (a real Mosquitto carrying its published `frigate/events`
 * message, a stand-in of its HTTP API) sees a person on the camera watching the room — and the
 * intrusion-confirmed correlation alarm is raised with Frigate's picture of that person attached.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alarm } from '../../server/alarms/types.ts';
import { adminToken, eventually, startTestApp, type TestApp } from '../helpers/app.ts';
import { startFrigateApi, type FrigateApi } from '../helpers/frigate.ts';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.ts';
import { connectDevice } from '../helpers/mqtt.ts';

const SHOP = 'demo-shop';
const FIXTURE = path.join(import.meta.dirname, '..', 'fixtures', 'platforms', 'frigate-event.json');
const EVENT_ID = '1607123955.475377-mxklsc';

// Tests read answers into whatever shape they assert on.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

let t: TestApp;
let admin: string;
let mosquitto: Mosquitto;
let frigateApi: FrigateApi;
let frigateSide: MqttClient;
let door: MqttClient | null = null;

async function api(method: string, url: string, body?: unknown) {
  const res = await fetch(`${t.httpUrl}${url}`, {
    method,
    headers: { authorization: `Bearer ${admin}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Json) : {} };
}

beforeAll(async () => {
  mosquitto = await startMosquitto({ frigate: 'frigate-pw' });
  frigateApi = await startFrigateApi({ cameras: ['front_door'] });
  t = await startTestApp();
  admin = await adminToken(t.app);
  frigateSide = await connectAsync(mosquitto.url, { username: 'frigate', password: 'frigate-pw', reconnectPeriod: 0 });
}, 30_000);

afterAll(async () => {
  await door?.endAsync();
  await frigateSide?.endAsync();
  await t?.stop();
  await frigateApi?.close();
  await mosquitto?.close();
});

describe('Frigate in an armed zone', () => {
  it('raises intrusion confirmed from the door sensor and a Frigate person detection, with Frigate’s snapshot attached', async () => {
    const created = await api('POST', '/api/integrations', {
      adapter: 'frigate',
      site: SHOP,
      name: 'Frigate NVR',
      settings: { mqttUrl: mosquitto.url, username: 'frigate', password: 'frigate-pw', apiUrl: frigateApi.url },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.pushUrl).toBeNull();
    const camera = await api('POST', '/api/devices', { id: 'shop-cam-cash', site: SHOP, type: 'camera', zone: 'cash-room', externalIds: { frigate: 'front_door' } });
    expect(camera.status).toBe(201);
    const sensor = await api('POST', '/api/devices', { id: 'shop-door-cash', site: SHOP, type: 'door-sensor', zone: 'cash-room' });
    expect(sensor.status).toBe(201);
    expect((await api('POST', `/api/sites/${SHOP}/zones/cash-room/arm`, {})).status).toBe(200);

    door = await connectDevice(t.mqttUrl, 'shop-door-cash', sensor.body.secret as string);
    await door.publishAsync(`storetwin/${SHOP}/shop-door-cash/up`, JSON.stringify({ type: 'door', state: 'open', seq: 1 }), { qos: 1 });

    // Frigate's picture of the tracked person, served by its API once the connector asks.
    const detection = frigateApi.addDetection(EVENT_ID, 'front_door');
    // The connector subscribes a moment after the integration is created: Frigate publishes at
    // QoS 0 to whoever listens, so the message is sent until it is heard (its event id makes
    // every copy after the first a duplicate).
    const fixture = await readFile(FIXTURE);
    await eventually(async () => {
      await frigateSide.publishAsync('frigate/events', fixture, { qos: 0 });
      const events = await api('GET', '/api/events?device=shop-cam-cash&limit=10');
      return (events.body.items as { type: string }[]).some((e) => e.type === 'motion');
    }, 10_000, 250);

    const alarm = await eventually(
      async () => {
        const res = await api('GET', `/api/alarms?site=${SHOP}`);
        const found = (res.body.items as Alarm[]).find((a) => a.rule === 'shop-intrusion-confirmed' && a.zone === 'cash-room');
        return found?.snapshot?.status === 'attached' ? found : null;
      },
      15_000,
      100,
    );
    expect(alarm.severity).toBe('critical');
    expect(alarm.snapshot).toMatchObject({ status: 'attached', camera: 'shop-cam-cash' });

    // The attached picture is Frigate's, byte for byte.
    const url = (alarm.snapshot as { url: string }).url;
    const picture = await fetch(`${t.httpUrl}${url}`, { headers: { authorization: `Bearer ${admin}` } });
    expect(picture.status).toBe(200);
    expect(Buffer.from(await picture.arrayBuffer()).equals(detection)).toBe(true);

    // And the motion is in the camera's history with Frigate's label and score.
    const events = await api('GET', '/api/events?device=shop-cam-cash&limit=10');
    expect((events.body.items as { type: string; data: Record<string, unknown> }[]).find((e) => e.type === 'motion')?.data).toMatchObject({ label: 'person', zone: 'yard' });
  }, 40_000);
});
