/**
 * The external-broker client's promises, watched from the broker's side: a bare aedes broker
 * (no access control at all, the weakest external broker) stands in for Mosquitto or EMQX, and
 * its `ack` event shows when StoreTwin acknowledges each message.
 * - PUBACK only after the message is stored; none when storing failed, and the broker then
 *   redelivers it to the persistent session;
 * - what a broker without ACLs lets through is still refused by StoreTwin's own policy (an
 *   unknown or disabled device, another site's topic), acknowledged so it is not redelivered,
 *   coded and counted;
 * - a retained uplink delivered because the subscription is new is old news: dropped.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Aedes } from 'aedes';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Json } from '../helpers/api-client.ts';
import { apiRequest } from '../helpers/api-client.ts';
import { rm } from 'node:fs/promises';
import { createApp } from '../../server/app.ts';
import { adminToken, eventually, metricValue, startTestApp, tempDir, testConfig, type TestApp } from '../helpers/app.ts';
import { connectDevice } from '../helpers/mqtt.ts';

let aedes: Aedes;
let server: net.Server;
let t: TestApp;
let token: string;
let door: MqttClient;
/** Message ids StoreTwin (client id storetwin-server) acknowledged, by topic. */
const acked: string[] = [];

const events = async (device: string) => (await apiRequest(t.httpUrl, token, 'GET', `/api/events?device=${device}&type=door`)).body.items as Json[];

beforeAll(async () => {
  aedes = await Aedes.createBroker();
  aedes.on('ack', (packet, client) => {
    if (client?.id === 'storetwin-server' && 'topic' in packet) acked.push(`${packet.topic}#${packet.payload.toString()}`);
  });
  server = net.createServer(aedes.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  t = await startTestApp({ mqttUrl: `mqtt://storetwin:any@127.0.0.1:${port}`, broker: { external: { reconnectPeriodMs: 100 } } });
  token = await adminToken(t.app);
  await t.app.devices.register({ id: 'door-ack', site: 'demo-hotel', type: 'door-sensor', zone: '3-10' });
  door = await connectDevice(`mqtt://127.0.0.1:${port}`, 'door-ack', 'aedes checks nothing');
});

afterAll(async () => {
  await door?.endAsync(true);
  await t?.stop();
  await new Promise<void>((r) => aedes.close(() => r()));
  server?.close();
});

describe('StoreTwin as a client of an external broker', () => {
  it('acknowledges a message only once it is stored', async () => {
    const ingest = t.app.ingest;
    const original = ingest.acceptUplink.bind(ingest);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let arrived = false;
    ingest.acceptUplink = async (device, payload, at) => {
      arrived = true;
      await gate;
      return original(device, payload, at);
    };
    try {
      const payload = JSON.stringify({ type: 'door', state: 'open', seq: 1 });
      await door.publishAsync('storetwin/demo-hotel/door-ack/up', payload, { qos: 1 });
      await eventually(() => arrived, 5000);
      await new Promise((r) => setTimeout(r, 300));
      expect(acked).not.toContain(`storetwin/demo-hotel/door-ack/up#${payload}`);
      release();
      await eventually(() => acked.includes(`storetwin/demo-hotel/door-ack/up#${payload}`), 5000);
      expect((await events('door-ack')).map((e) => e.seq)).toEqual([1]);
    } finally {
      ingest.acceptUplink = original;
    }
  });

  it('does not acknowledge what it could not store: the broker redelivers it after the reconnection', async () => {
    const ingest = t.app.ingest;
    const original = ingest.acceptUplink.bind(ingest);
    let failures = 0;
    ingest.acceptUplink = async (device, payload, at) => {
      if (failures++ === 0) throw new Error('disk full (simulated)');
      return original(device, payload, at);
    };
    try {
      const payload = JSON.stringify({ type: 'door', state: 'closed', seq: 2 });
      await door.publishAsync('storetwin/demo-hotel/door-ack/up', payload, { qos: 1 });
      await eventually(async () => (await events('door-ack')).some((e) => e.seq === 2), 10_000);
      expect(failures).toBeGreaterThanOrEqual(2);
      // Acknowledged once: the redelivered copy, after it was stored (the PUBACK may trail the commit a moment).
      await eventually(() => acked.includes(`storetwin/demo-hotel/door-ack/up#${payload}`), 5000);
      expect(acked.filter((a) => a === `storetwin/demo-hotel/door-ack/up#${payload}`)).toHaveLength(1);
      expect((await events('door-ack')).filter((e) => e.seq === 2)).toHaveLength(1);
      expect(await metricValue(t.httpUrl, 'storetwin_refusals_total', { code: 'STW_ERR_STORAGE_FAILED' })).toBeGreaterThanOrEqual(1);
    } finally {
      ingest.acceptUplink = original;
    }
  });

  it('refuses (acknowledged, coded, counted, not stored) what its policy forbids and the broker let through', async () => {
    const count = (code: string) => metricValue(t.httpUrl, 'storetwin_refusals_total', { code });
    const [unknown, disabled, denied] = [await count('STW_ERR_MQTT_UNKNOWN_DEVICE'), await count('STW_ERR_MQTT_DEVICE_DISABLED'), await count('STW_ERR_MQTT_PUBLISH_DENIED')];
    await t.app.devices.register({ id: 'door-ack-off', site: 'demo-hotel', type: 'door-sensor', zone: '3-11' });
    await t.app.devices.update('door-ack-off', { enabled: false });
    const open = JSON.stringify({ type: 'door', state: 'open', seq: 5 });
    await door.publishAsync('storetwin/demo-hotel/door-nobody/up', open, { qos: 1 });
    await door.publishAsync('storetwin/demo-hotel/door-ack-off/up', open, { qos: 1 });
    await door.publishAsync('storetwin/demo-shop/door-ack/up', open, { qos: 1 });
    await eventually(() => ['storetwin/demo-hotel/door-nobody/up', 'storetwin/demo-hotel/door-ack-off/up', 'storetwin/demo-shop/door-ack/up'].every((topic) => acked.includes(`${topic}#${open}`)), 5000);
    expect(await count('STW_ERR_MQTT_UNKNOWN_DEVICE')).toBe(unknown + 1);
    expect(await count('STW_ERR_MQTT_DEVICE_DISABLED')).toBe(disabled + 1);
    expect(await count('STW_ERR_MQTT_PUBLISH_DENIED')).toBe(denied + 1);
    expect(await events('door-ack-off')).toEqual([]);
    expect((await events('door-ack')).map((e) => e.seq)).not.toContain(5);
  });

  it('ignores a retained uplink the broker replays to a new subscription, and takes a retained status', async () => {
    await door.publishAsync('storetwin/demo-hotel/door-ack-retained/up', JSON.stringify({ type: 'door', state: 'open', seq: 7 }), { qos: 1, retain: true });
    await door.publishAsync('storetwin/demo-hotel/door-ack-retained/status', 'online', { qos: 1, retain: true });
    // Another StoreTwin (its own session) that knows the device subscribes afresh: the broker
    // hands it both retained messages.
    const { port } = server.address() as AddressInfo;
    const dataDir = await tempDir();
    const second = await createApp(testConfig(dataDir, { mqttUrl: `mqtt://storetwin:any@127.0.0.1:${port}`, broker: { external: { clientId: 'storetwin-second' } } }));
    try {
      await second.devices.register({ id: 'door-ack-retained', site: 'demo-hotel', type: 'door-sensor', zone: '3-12' });
      await second.listen();
      await eventually(() => second.broker.isConnected('door-ack-retained'), 5000);
      const stored = await eventually(async () => {
        const page = await second.storage.events.query({ device: 'door-ack-retained', limit: 10 });
        return page.items.length > 0 ? page : null;
      }, 3000);
      expect(stored.items.map((e) => e.type)).toEqual(['status']);
    } finally {
      await second.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
