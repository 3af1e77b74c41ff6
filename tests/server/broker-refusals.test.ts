/**
 * Hostile and broken clients against the real broker: every refusal is coded and counted,
 * and a healthy device publishing all along loses nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqttPacket from 'mqtt-packet';
import type { MqttClient } from 'mqtt';
import { adminToken, eventually, metricValue, startTestApp, type TestApp } from '../helpers/app.ts';
import { connectDevice, connectError, rawExchange } from '../helpers/mqtt.ts';

let t: TestApp;
let token: string;
const secrets: Record<string, string> = {};
let healthy: MqttClient;
let healthySent = 0;
let pumping = true;
let pump: Promise<void>;

const refusals = (code: string, layer?: string) => metricValue(t.httpUrl, 'storetwin_refusals_total', layer ? { code, layer } : { code });
const mqttPort = () => t.app.addresses!.mqtt.port;

async function storedCount(device: string): Promise<number> {
  let n = 0;
  let cursor: string | null = null;
  do {
    const res = await fetch(`${t.httpUrl}/api/events?device=${device}&limit=1000${cursor ? `&cursor=${cursor}` : ''}`, { headers: { authorization: `Bearer ${token}` } });
    const body = (await res.json()) as { items: Array<{ type: string }>; nextCursor: string | null };
    n += body.items.filter((e) => e.type !== 'status').length;
    cursor = body.nextCursor;
  } while (cursor);
  return n;
}

beforeAll(async () => {
  // The healthy device below publishes every few ms, far above a door sensor's rate budget
  // (tests/ingest/flood.test.ts covers the budget): lift it here.
  t = await startTestApp({ broker: { maxEventBytes: 8192, maxPacketBytes: 256 * 1024 }, ingest: { rateBudgets: { 'door-sensor': { perSecond: 1e6, burst: 1e6 } } } });
  token = await adminToken(t.app);
  for (const [id, zone] of [['door-a', '3-01'], ['door-b', '3-02'], ['door-healthy', '3-03']] as const) {
    secrets[id] = (await t.app.devices.register({ id, site: 'demo-hotel', type: 'door-sensor', zone })).secret;
  }
  healthy = await connectDevice(t.mqttUrl, 'door-healthy', secrets['door-healthy']!);
  // A device publishing steadily through every test in this file.
  pump = (async () => {
    while (pumping) {
      healthySent++;
      await healthy.publishAsync('storetwin/demo-hotel/door-healthy/up', JSON.stringify({ type: 'door', state: healthySent % 2 ? 'open' : 'closed', seq: healthySent }), { qos: 1 });
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
});

afterAll(async () => {
  pumping = false;
  await pump;
  // Every message the healthy device sent while others misbehaved is stored.
  expect(await storedCount('door-healthy')).toBe(healthySent);
  await healthy.endAsync();
  await t.stop();
});

describe('authentication', () => {
  it('refuses a wrong password with CONNACK 4 and counts it', async () => {
    const err = await connectError(t.mqttUrl, { clientId: 'door-a', username: 'door-a', password: 'not-the-secret' });
    expect(err?.message).toMatch(/Bad username or password/i);
    expect(await refusals('STW_ERR_MQTT_BAD_CREDENTIALS')).toBeGreaterThanOrEqual(1);
  });

  it('refuses an unknown device without telling it the device does not exist', async () => {
    const err = await connectError(t.mqttUrl, { clientId: 'door-nobody', username: 'door-nobody', password: 'x' });
    expect(err?.message).toMatch(/Bad username or password/i);
    expect(await refusals('STW_ERR_MQTT_UNKNOWN_DEVICE')).toBe(1);
  });

  it('refuses a client id that is not the authenticated device', async () => {
    const err = await connectError(t.mqttUrl, { clientId: 'door-b', username: 'door-a', password: secrets['door-a'] });
    expect(err?.message).toMatch(/Identifier rejected/i);
    expect(await refusals('STW_ERR_MQTT_CLIENT_ID_MISMATCH')).toBe(1);
  });

  it('refuses a connection without credentials', async () => {
    const err = await connectError(t.mqttUrl, { clientId: 'door-a' });
    expect(err).not.toBeNull();
  });
});

describe('authorisation', () => {
  it('disconnects a device publishing to another device’s topic; nothing is stored for either', async () => {
    const a = await connectDevice(t.mqttUrl, 'door-a', secrets['door-a']!);
    const closed = new Promise<void>((r) => a.once('close', () => r()));
    a.publish('storetwin/demo-hotel/door-b/up', JSON.stringify({ type: 'door', state: 'open', seq: 1 }), { qos: 1 });
    await closed;
    a.end(true);
    expect(await refusals('STW_ERR_MQTT_PUBLISH_DENIED')).toBe(1);
    expect(await storedCount('door-b')).toBe(0);
    expect(await storedCount('door-a')).toBe(0);
  });

  it('answers SUBACK 0x80 to #, $SYS/# and other devices’ topics, grants its own cmd', async () => {
    const a = await connectDevice(t.mqttUrl, 'door-a', secrets['door-a']!);
    const topics = ['#', '$SYS/#', 'storetwin/demo-hotel/door-b/cmd', 'storetwin/demo-hotel/door-a/cmd'];
    // mqtt.js rejects when any grant is 0x80 and attaches the SUBACK to the error.
    const err = (await a.subscribeAsync(topics, { qos: 1 }).catch((e: unknown) => e)) as { packet?: { granted: number[] } };
    const byTopic = Object.fromEntries(topics.map((topic, i) => [topic, err.packet?.granted[i]]));
    expect(byTopic).toEqual({ '#': 128, '$SYS/#': 128, 'storetwin/demo-hotel/door-b/cmd': 128, 'storetwin/demo-hotel/door-a/cmd': 1 });
    expect(await refusals('STW_ERR_MQTT_SUBSCRIBE_DENIED')).toBe(3);
    // It still receives its own commands.
    const got = new Promise<string>((r) => a.once('message', (_t, p) => r(p.toString())));
    await t.app.broker.sendCommand('demo-hotel', 'door-a', { id: 'c1', cmd: 'ping' });
    expect(JSON.parse(await got)).toEqual({ id: 'c1', cmd: 'ping' });
    await a.endAsync();
  });
});

describe('bad payloads are refused, counted, and the device stays connected', () => {
  let a: MqttClient;
  beforeAll(async () => {
    a = await connectDevice(t.mqttUrl, 'door-a', secrets['door-a']!);
  });
  afterAll(async () => {
    await a.endAsync();
  });
  const up = 'storetwin/demo-hotel/door-a/up';

  it.each([
    ['malformed JSON', Buffer.from('{"type":"door","state":'), 'STW_ERR_PAYLOAD_MALFORMED_JSON'],
    ['schema violation', Buffer.from(JSON.stringify({ type: 'door', state: 'ajar' })), 'STW_ERR_PAYLOAD_SCHEMA'],
    ['bad AA55 checksum', Buffer.from('AA5501030A010000000000280C000044', 'hex'), 'STW_ERR_FRAME_CHECKSUM'],
    ['oversized event payload', Buffer.alloc(9000, 0x20), 'STW_ERR_PAYLOAD_TOO_LARGE'],
  ])('%s', async (_name, payload, code) => {
    const before = await refusals(code, 'ingest');
    await a.publishAsync(up, payload, { qos: 1 });
    expect(await refusals(code, 'ingest')).toBe(before + 1);
    expect(a.connected).toBe(true);
    expect(await storedCount('door-a')).toBe(0);
    const state = await fetch(`${t.httpUrl}/api/sites/demo-hotel/state`, { headers: { authorization: `Bearer ${token}` } });
    const device = ((await state.json()) as { devices: Record<string, { lastRejection: { code: string } | null }> }).devices['door-a'];
    expect(device?.lastRejection?.code).toBe(code);
  });

  it('closes the connection on a packet over the transport cap', async () => {
    const closed = new Promise<void>((r) => a.once('close', () => r()));
    a.publish(up, Buffer.alloc(300 * 1024), { qos: 1 });
    await closed;
    expect(await refusals('STW_ERR_MQTT_PACKET_TOO_LARGE')).toBe(1);
    a.end(true);
    a = await connectDevice(t.mqttUrl, 'door-a', secrets['door-a']!);
  });
});

describe('transport guard', () => {
  it('closes a connection whose first packet is not CONNECT', async () => {
    const publish = mqttPacket.generate({ cmd: 'publish', topic: 'storetwin/demo-hotel/door-a/up', payload: Buffer.from('{}'), qos: 0, retain: false, dup: false });
    const res = await rawExchange(mqttPort(), [publish]);
    expect(res.closed).toBe(true);
    expect(res.received.length).toBe(0);
    expect(await refusals('STW_ERR_MQTT_FIRST_PACKET_NOT_CONNECT')).toBe(1);
  });

  it('closes a pre-CONNECT 10 MB bogus length at once, without buffering what follows', async () => {
    const heapBefore = process.memoryUsage().heapUsed;
    const header = Buffer.from([0x10, 0x80, 0xad, 0xe2, 0x04]); // CONNECT, remaining length 10,000,000
    const junk = Array.from({ length: 40 }, () => Buffer.alloc(256 * 1024, 0x41)); // 10 MB behind it
    const res = await rawExchange(mqttPort(), [header, ...junk]);
    expect(res.closed).toBe(true);
    expect(await refusals('STW_ERR_MQTT_CONNECT_TOO_LARGE')).toBe(1);
    // The broker never held the body: heap growth stays far below the 10 MB announced.
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(8 * 1024 * 1024);
  });

  it('closes a connection that never sends CONNECT after the connect timeout', async () => {
    // The app under test uses the default 10 s timeout; a raw socket that sends nothing
    // is closed by aedes' connect timer. Checked here with a short-timeout app.
    const quick = await startTestApp({ broker: { connectTimeoutMs: 300 } });
    try {
      const res = await rawExchange(quick.app.addresses!.mqtt.port, [], { timeoutMs: 3000 });
      expect(res.closed).toBe(true);
      await eventually(async () => (await metricValue(quick.httpUrl, 'storetwin_refusals_total', { code: 'STW_ERR_MQTT_CONNECT_TIMEOUT' })) === 1);
    } finally {
      await quick.stop();
    }
  });
});
