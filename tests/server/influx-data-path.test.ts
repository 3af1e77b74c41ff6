/**
 * StoreTwin with STORETWIN_INFLUX_URL, end to end against a real influxd: a door sensor and a
 * footfall counter publish over MQTT; each event is in InfluxDB as a point of its series the
 * moment PUBACK arrives, and the events API, the replay history (built in the long-read thread)
 * and the footfall API return it. A restart rebuilds the duplicate window from InfluxDB.
 */
import { InfluxDB } from 'influx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminToken, startTestApp, tempDir, type TestApp } from '../helpers/app.ts';
import { startInfluxd, type Influxd } from '../helpers/influxd.ts';
import { connectDevice } from '../helpers/mqtt.ts';

const DATABASE = 'storetwin_app';
const HOTEL = 'demo-hotel';
const SHOP = 'demo-shop';
const DOOR = 'door-influx-2-14';
const COUNTER = 'shop-counter-south';

let influxd: Influxd;
let influx: InfluxDB;
let t: TestApp;
let dataDir: string;
let token: string;
let doorSecret: string;
let counterSecret: string;

async function api(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${t.httpUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function start(): Promise<void> {
  t = await startTestApp({ influxUrl: `${influxd.url}/${DATABASE}` }, { dataDir, keepData: true });
  token = await adminToken(t.app, `admin-${Date.now()}`);
}

beforeAll(async () => {
  influxd = await startInfluxd();
  influx = new InfluxDB(`${influxd.url}/${DATABASE}`);
  dataDir = await tempDir();
  await start();
  doorSecret = (await t.app.devices.register({ id: DOOR, site: HOTEL, type: 'door-sensor', zone: '2-14' })).secret;
  // The shop's south counter is in its site model: register it so it can log in.
  counterSecret = (await t.app.devices.register({ id: COUNTER, site: SHOP, type: 'footfall-counter', zone: 'entrance-south' })).secret;
}, 60_000);

afterAll(async () => {
  await t?.stop();
  await influxd?.stop();
});

describe('events in InfluxDB (STORETWIN_INFLUX_URL)', () => {
  it('keeps the events in InfluxDB, not in SQLite', () => {
    expect(t.app.events.kind).toBe('influx');
  });

  it('stores an event as a point of its series before PUBACK, and the events API returns it', async () => {
    const door = await connectDevice(t.mqttUrl, DOOR, doorSecret);
    const ts = new Date(Date.now() - 1000).toISOString();
    await door.publishAsync(`storetwin/${HOTEL}/${DOOR}/up`, JSON.stringify({ type: 'door', state: 'open', seq: 7, ts }), { qos: 1 });
    await door.endAsync();

    // No polling: PUBACK follows InfluxDB's 204.
    const series = (await influx.query(`SHOW SERIES FROM "events" WHERE "device" = '${DOOR}'`)) as unknown as Array<{ key: string }>;
    expect(series.map((s) => s.key)).toContain(`events,device=${DOOR},device_type=door-sensor,site=${HOTEL},type=door,zone=2-14`);
    const points = (await influx.query(`SELECT "seq", "data" FROM "raw"."events" WHERE "device" = '${DOOR}' AND "type" = 'door'`)) as unknown as Array<{ time: Date; seq: number; data: string }>;
    expect(points).toHaveLength(1);
    expect(points[0]?.seq).toBe(7);
    expect(points[0]?.time.toISOString()).toBe(ts);
    expect(JSON.parse(points[0]?.data ?? '{}')).toMatchObject({ type: 'door', state: 'open', seq: 7 });

    const res = await api(`/api/events?site=${HOTEL}&device=${DOOR}&type=door`);
    expect(res.status).toBe(200);
    expect(res.body.items).toEqual([expect.objectContaining({ device: DOOR, site: HOTEL, zone: '2-14', type: 'door', seq: 7, ts, data: expect.objectContaining({ state: 'open' }) })]);
  });

  it('replays it: the history API, built by the long-read thread from InfluxDB, has the door change', async () => {
    const from = new Date(Date.now() - 3600_000).toISOString();
    const res = await api(`/api/sites/${HOTEL}/history?from=${from}&to=${new Date().toISOString()}`);
    expect(res.status).toBe(200);
    const changes = res.body.changes as Array<[number, string, string, string, unknown]>;
    expect(changes.filter((c) => c[1] === 'd' && c[2] === DOOR).length).toBeGreaterThan(0);
  });

  it('counts footfall from InfluxDB', async () => {
    const counter = await connectDevice(t.mqttUrl, COUNTER, counterSecret);
    const ts = new Date(Date.now() - 2000).toISOString();
    await counter.publishAsync(`storetwin/${SHOP}/${COUNTER}/up`, JSON.stringify({ type: 'count', in: 12, out: 5, period: 60, seq: 1, ts }), { qos: 1 });
    await counter.endAsync();
    const points = (await influx.query(`SELECT "in", "out" FROM "raw"."footfall" WHERE "device" = '${COUNTER}'`)) as unknown as Array<{ in: number; out: number }>;
    expect(points.map((p) => [p.in, p.out])).toEqual([[12, 5]]);
    const from = new Date(Date.now() - 3600_000).toISOString();
    const res = await api(`/api/footfall?site=${SHOP}&zone=sales-hall&from=${from}&to=${new Date().toISOString()}&step=1h`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ zone: 'sales-hall', total: { in: 12, out: 5 } });
  });

  it('drops a retransmission after a restart: the duplicate window comes back from InfluxDB', async () => {
    await t.stop();
    await start();
    const door = await connectDevice(t.mqttUrl, DOOR, doorSecret);
    await door.publishAsync(`storetwin/${HOTEL}/${DOOR}/up`, JSON.stringify({ type: 'door', state: 'open', seq: 7 }), { qos: 1 });
    await door.endAsync();
    const points = (await influx.query(`SELECT "seq" FROM "raw"."events" WHERE "device" = '${DOOR}' AND "type" = 'door'`)) as unknown as unknown[];
    expect(points).toHaveLength(1);
  });
});
