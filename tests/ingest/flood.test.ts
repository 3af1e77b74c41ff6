/**
 * Issue 9, item 7: one device must not flood storage. Over the real interface — a StoreTwin
 * app, real MQTT clients — a JSON batch is capped at 32 events, and a device over its type's
 * event rate budget has its messages acknowledged, dropped, coded and counted, while another
 * device publishing at the same time loses nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { MAX_EVENTS_PER_MESSAGE } from '../../devices/shared/json.ts';
import { adminToken, metricValue, startTestApp, type TestApp } from '../helpers/app.ts';
import { connectDevice } from '../helpers/mqtt.ts';

/** Small on purpose, so the bound below is tight and the test deterministic. */
const DOOR_BUDGET = { perSecond: 10, burst: 40 };
const SITE = 'demo-hotel';

/** A running app and an admin token for its API. */
interface Server {
  t: TestApp;
  token: string;
}

let main: Server;
const secrets: Record<string, string> = {};
const clients: MqttClient[] = [];

const up = (device: string) => `storetwin/${SITE}/${device}/up`;
const refusals = (code: string, on = main) => metricValue(on.t.httpUrl, 'storetwin_refusals_total', { layer: 'ingest', code });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function connect(device: string): Promise<MqttClient> {
  const client = await connectDevice(main.t.mqttUrl, device, secrets[device]!);
  clients.push(client);
  return client;
}

async function storedCount(device: string, on = main): Promise<number> {
  let n = 0;
  let cursor: string | null = null;
  do {
    const res = await fetch(`${on.t.httpUrl}/api/events?device=${device}&limit=1000${cursor ? `&cursor=${cursor}` : ''}`, {
      headers: { authorization: `Bearer ${on.token}` },
    });
    const body = (await res.json()) as { items: Array<{ type: string }>; nextCursor: string | null };
    n += body.items.filter((e) => e.type !== 'status').length;
    cursor = body.nextCursor;
  } while (cursor);
  return n;
}

async function twinDevice(device: string, on = main): Promise<{ rejected: number; lastRejection: { code: string; message: string } | null }> {
  const res = await fetch(`${on.t.httpUrl}/api/sites/${SITE}/state`, { headers: { authorization: `Bearer ${on.token}` } });
  const body = (await res.json()) as { devices: Record<string, { rejected: number; lastRejection: { code: string; message: string } | null }> };
  return body.devices[device]!;
}

function doors(n: number, firstSeq: number): string {
  return JSON.stringify(Array.from({ length: n }, (_, i) => ({ type: 'door', state: (firstSeq + i) % 2 ? 'open' : 'closed', seq: firstSeq + i })));
}

beforeAll(async () => {
  const t = await startTestApp({ ingest: { rateBudgets: { 'door-sensor': DOOR_BUDGET } } });
  main = { t, token: await adminToken(t.app) };
  const devices = [
    ['door-batch', 'door-sensor', '3-01'],
    ['door-flood', 'door-sensor', '3-02'],
    ['door-calm', 'door-sensor', '3-03'],
  ] as const;
  for (const [id, type, zone] of devices) secrets[id] = (await t.app.devices.register({ id, site: SITE, type, zone })).secret;
});

afterAll(async () => {
  for (const c of clients) await c.endAsync();
  await main?.t.stop();
});

describe('events per message', () => {
  it(`stores a batch of ${MAX_EVENTS_PER_MESSAGE} events and refuses one of ${MAX_EVENTS_PER_MESSAGE + 1}, coded and counted`, async () => {
    const client = await connect('door-batch');
    const before = await refusals('STW_ERR_PAYLOAD_TOO_MANY_EVENTS');
    await client.publishAsync(up('door-batch'), doors(MAX_EVENTS_PER_MESSAGE + 1, 0), { qos: 1 });
    expect(await refusals('STW_ERR_PAYLOAD_TOO_MANY_EVENTS')).toBe(before + 1);
    expect(await storedCount('door-batch')).toBe(0);
    expect((await twinDevice('door-batch')).lastRejection?.code).toBe('STW_ERR_PAYLOAD_TOO_MANY_EVENTS');

    await client.publishAsync(up('door-batch'), doors(MAX_EVENTS_PER_MESSAGE, 100), { qos: 1 });
    expect(await storedCount('door-batch')).toBe(MAX_EVENTS_PER_MESSAGE);
    expect(client.connected).toBe(true);
  });
});

describe('event rate budget', () => {
  it('drops most of a flood, counts it, keeps the flooder connected, and stores every event of a device alongside', async () => {
    const flood = await connect('door-flood');
    const calm = await connect('door-calm');
    const beforeRefused = await refusals('STW_ERR_DEVICE_RATE_LIMITED');
    const PER_MESSAGE = 8;
    const IN_FLIGHT = 100;
    const FLOOD_MS = 2_000;

    // The calm device: one door event every 200 ms (5/s, half its budget) throughout the flood,
    // on a timer rather than after each PUBACK, so its rate does not depend on the machine.
    const calmAcks: Array<Promise<unknown>> = [];
    const calmTimer = setInterval(() => {
      const seq = calmAcks.length + 1;
      calmAcks.push(calm.publishAsync(up('door-calm'), JSON.stringify({ type: 'door', state: seq % 2 ? 'open' : 'closed', seq }), { qos: 1 }));
    }, 200);

    // The flood: arrays of 8 door events, 100 QoS 1 messages in flight, for two seconds.
    let sent = 0;
    let acked = 0;
    const errors: Error[] = [];
    const started = performance.now();
    await new Promise<void>((resolve) => {
      const next = () => {
        if (performance.now() - started >= FLOOD_MS) {
          if (acked === sent) resolve();
          return;
        }
        const seq = sent++ * PER_MESSAGE;
        flood.publish(up('door-flood'), doors(PER_MESSAGE, seq), { qos: 1 }, (err) => {
          if (err) errors.push(err);
          acked++;
          next();
        });
      };
      for (let i = 0; i < IN_FLIGHT; i++) next();
    });
    const elapsedS = (performance.now() - started) / 1000;
    clearInterval(calmTimer);
    await Promise.all(calmAcks);

    expect(errors).toEqual([]);
    const stored = await storedCount('door-flood');
    const allowed = DOOR_BUDGET.burst + DOOR_BUDGET.perSecond * elapsedS;
    expect(stored).toBeLessThanOrEqual(allowed + PER_MESSAGE);
    // The budget was used, not just refused wholesale.
    expect(stored).toBeGreaterThanOrEqual(DOOR_BUDGET.burst);
    expect(stored % PER_MESSAGE).toBe(0);
    const refused = sent - stored / PER_MESSAGE;
    expect(refused).toBeGreaterThan(sent / 2);
    expect(await refusals('STW_ERR_DEVICE_RATE_LIMITED')).toBe(beforeRefused + refused);
    const twin = await twinDevice('door-flood');
    expect(twin.rejected).toBe(refused);
    expect(twin.lastRejection?.code).toBe('STW_ERR_DEVICE_RATE_LIMITED');

    // Acknowledged and dropped, not disconnected: once its bucket refills it is heard again.
    expect(flood.connected).toBe(true);
    expect(main.t.app.broker.isConnected('door-flood')).toBe(true);
    await sleep(1000 * (PER_MESSAGE / DOOR_BUDGET.perSecond) + 100);
    await flood.publishAsync(up('door-flood'), doors(PER_MESSAGE, 1_000_000), { qos: 1 });
    expect(await storedCount('door-flood')).toBe(stored + PER_MESSAGE);

    // The device alongside lost nothing.
    expect(calmAcks.length).toBeGreaterThanOrEqual(5);
    expect(await storedCount('door-calm')).toBe(calmAcks.length);
    expect((await twinDevice('door-calm')).rejected).toBe(0);
  }, 30_000);

  it("applies a configured budget to its type only; other types keep their type's default", async () => {
    // A budget that refills one event every 100 s: what gets through is the burst, exactly.
    const t = await startTestApp({ ingest: { rateBudgets: { 'door-sensor': { perSecond: 0.01, burst: 40 } } } });
    try {
      const slow: Server = { t, token: await adminToken(t.app) };
      for (const [id, type, zone] of [['door-burst', 'door-sensor', '3-04'], ['cam-burst', 'camera', 'lobby']] as const) {
        secrets[id] = (await t.app.devices.register({ id, site: SITE, type, zone })).secret;
      }
      const door = await connectDevice(t.mqttUrl, 'door-burst', secrets['door-burst']!);
      const cam = await connectDevice(t.mqttUrl, 'cam-burst', secrets['cam-burst']!);
      const MESSAGES = 6;
      const PER_MESSAGE = 10;
      for (let i = 0; i < MESSAGES; i++) {
        await door.publishAsync(up('door-burst'), doors(PER_MESSAGE, i * PER_MESSAGE), { qos: 1 });
        const motions = Array.from({ length: PER_MESSAGE }, (_, j) => ({ type: 'motion', zone: 'entrance', seq: i * PER_MESSAGE + j }));
        await cam.publishAsync(up('cam-burst'), JSON.stringify(motions), { qos: 1 });
      }
      // The door sensor's configured burst of 40, not its type's default of 60.
      expect(await storedCount('door-burst', slow)).toBe(40);
      expect(await refusals('STW_ERR_DEVICE_RATE_LIMITED', slow)).toBe(2);
      // The camera keeps its own type's default burst (300): all 60 stored.
      expect(await storedCount('cam-burst', slow)).toBe(MESSAGES * PER_MESSAGE);
      expect((await twinDevice('cam-burst', slow)).rejected).toBe(0);
      await door.endAsync();
      await cam.endAsync();
    } finally {
      await t.stop();
    }
  });
});
