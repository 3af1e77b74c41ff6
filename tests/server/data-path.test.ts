/**
 * The data path end to end, over real sockets: a registered door sensor publishes JSON and
 * binary AA55 frames over MQTT; the events are queryable the moment PUBACK arrives and the
 * twin state changes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { adminToken, eventually, startTestApp, type TestApp } from '../helpers/app.ts';
import { connectDevice } from '../helpers/mqtt.ts';

let t: TestApp;
let token: string;
let door: MqttClient;
const api = async (path: string) => {
  const res = await fetch(`${t.httpUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> & { items?: Array<Record<string, unknown>> } };
};

beforeAll(async () => {
  t = await startTestApp();
  token = await adminToken(t.app);
  const { secret } = await t.app.devices.register({ id: 'door-t-2-14', site: 'demo-hotel', type: 'door-sensor', zone: '2-14' });
  door = await connectDevice(t.mqttUrl, 'door-t-2-14', secret);
});

afterAll(async () => {
  await door?.endAsync();
  await t?.stop();
});

describe('door sensor → broker → ingest → storage + twin', () => {
  it('stores a JSON event before acknowledging it, and the twin shows the door open', async () => {
    await door.publishAsync('storetwin/demo-hotel/door-t-2-14/up', JSON.stringify({ type: 'door', state: 'open', seq: 1, ts: new Date().toISOString() }), { qos: 1 });
    // No polling: PUBACK is sent only after the commit, so the event must be there already.
    const events = await api('/api/events?device=door-t-2-14');
    expect(events.status).toBe(200);
    // The broker's own "connected" status may be stamped after the door's device time (a login
    // now costs a digest, not scrypt): look for the door event, not at the newest one.
    const stored = (events.body.items as { type: string }[]).find((e) => e.type === 'door');
    expect(stored).toMatchObject({ device: 'door-t-2-14', site: 'demo-hotel', zone: '2-14', type: 'door', seq: 1, data: { state: 'open' } });

    const state = await api('/api/sites/demo-hotel/state');
    const devices = state.body.devices as Record<string, { door: string; online: boolean }>;
    const zones = state.body.zones as Record<string, { door: string }>;
    expect(devices['door-t-2-14']).toMatchObject({ door: 'open', online: true });
    expect(zones['2-14']?.door).toBe('open');
  });

  it('decodes a binary AA55 alarm frame to the same kind of event', async () => {
    await door.publishAsync('storetwin/demo-hotel/door-t-2-14/up', JSON.stringify({ type: 'door', state: 'closed', seq: 2 }), { qos: 1 });
    expect((await api('/api/sites/demo-hotel/state')).body.zones).toMatchObject({ '2-14': { door: 'closed' } });

    // The real frame from the fixture: alarm, door open, 3112 mV.
    await door.publishAsync('storetwin/demo-hotel/door-t-2-14/up', Buffer.from('AA5501030A010000000000280C000043', 'hex'), { qos: 1 });
    const events = await api('/api/events?device=door-t-2-14&type=door&limit=1');
    expect(events.body.items?.[0]).toMatchObject({ type: 'door', data: { type: 'door', state: 'open', battery: 3.112 } });
    const state = await api('/api/sites/demo-hotel/state');
    expect((state.body.devices as Record<string, unknown>)['door-t-2-14']).toMatchObject({ door: 'open', battery: 3.112 });
    expect((state.body.zones as Record<string, unknown>)['2-14']).toMatchObject({ door: 'open' });
  });

  it('decodes a binary heartbeat frame into battery and signal', async () => {
    await door.publishAsync('storetwin/demo-hotel/door-t-2-14/up', Buffer.from('AA55010214010000000000530C53649C004E80AD001100001369', 'hex'), { qos: 1 });
    const state = await api('/api/sites/demo-hotel/state');
    expect((state.body.devices as Record<string, unknown>)['door-t-2-14']).toMatchObject({ battery: 3.155, rsrp: -78 });
  });

  it('drops a retransmission with the same seq', async () => {
    const before = (await api('/api/events?device=door-t-2-14&limit=1000')).body.items!.length;
    const msg = JSON.stringify({ type: 'heartbeat', battery: 3.1, rsrp: -90, seq: 77 });
    await door.publishAsync('storetwin/demo-hotel/door-t-2-14/up', msg, { qos: 1 });
    await door.publishAsync('storetwin/demo-hotel/door-t-2-14/up', msg, { qos: 1 });
    const after = (await api('/api/events?device=door-t-2-14&limit=1000')).body.items!.length;
    expect(after - before).toBe(1);
  });

  it('records the device going offline through its last will', async () => {
    const { secret } = await t.app.devices.register({ id: 'door-t-2-15', site: 'demo-hotel', type: 'door-sensor', zone: '2-15' });
    const client = await connectDevice(t.mqttUrl, 'door-t-2-15', secret, {
      will: { topic: 'storetwin/demo-hotel/door-t-2-15/status', payload: Buffer.from('offline'), qos: 1, retain: true },
    });
    await client.publishAsync('storetwin/demo-hotel/door-t-2-15/status', 'online', { qos: 1, retain: true });
    await eventually(async () => ((await api('/api/sites/demo-hotel/state')).body.devices as Record<string, { online: boolean }>)['door-t-2-15']?.online === true);
    client.stream.destroy(); // a dropped link, not a clean DISCONNECT: the broker sends the will
    await eventually(async () => ((await api('/api/sites/demo-hotel/state')).body.devices as Record<string, { online: boolean }>)['door-t-2-15']?.online === false);
    // The twin hears an event as ingest accepts it, before its commit ends: the stored event
    // can land a moment after the twin turned (a busy disk), so wait for it too.
    await eventually(async () => ((await api('/api/events?device=door-t-2-15&type=status')).body.items?.[0]?.data as { online?: boolean } | undefined)?.online === false);
    const status = await api('/api/events?device=door-t-2-15&type=status');
    expect(status.body.items?.[0]).toMatchObject({ type: 'status', data: { online: false } });
  });

  it('a device reconnecting before its old connection is gone keeps publishing (session takeover)', async () => {
    const { secret } = await t.app.devices.register({ id: 'door-t-2-16', site: 'demo-hotel', type: 'door-sensor', zone: '2-16' });
    const first = await connectDevice(t.mqttUrl, 'door-t-2-16', secret);
    first.on('error', () => undefined);
    const second = await connectDevice(t.mqttUrl, 'door-t-2-16', secret);
    await eventually(() => !first.connected);
    await second.publishAsync('storetwin/demo-hotel/door-t-2-16/up', JSON.stringify({ type: 'door', state: 'open', seq: 5 }), { qos: 1 });
    const state = await api('/api/sites/demo-hotel/state');
    expect((state.body.devices as Record<string, unknown>)['door-t-2-16']).toMatchObject({ door: 'open', online: true });
    expect(t.app.broker.isConnected('door-t-2-16')).toBe(true);
    first.end(true);
    await second.endAsync();
  });

  it('takes the same traffic over MQTT-over-WebSocket at /mqtt on the HTTP port', async () => {
    const { secret } = await t.app.devices.register({ id: 'door-t-2-17', site: 'demo-hotel', type: 'door-sensor', zone: '2-17' });
    const ws = await connectDevice(`${t.httpUrl.replace('http', 'ws')}/mqtt`, 'door-t-2-17', secret);
    await ws.publishAsync('storetwin/demo-hotel/door-t-2-17/up', Buffer.from('AA5501030A010000000000280C000043', 'hex'), { qos: 1 });
    const events = await api('/api/events?device=door-t-2-17&type=door');
    expect(events.body.items?.[0]).toMatchObject({ data: { state: 'open', battery: 3.112 } });
    await ws.endAsync();
  });
});
