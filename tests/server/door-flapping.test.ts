/**
 * Issue 7's bar, end to end over real sockets: a door flapping open/closed in an armed room is
 * one critical alarm, counted, that stays listed after the door closed until a person
 * acknowledges (and so closes) it — and a desk's webhook hears about it once, not per flap.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alarm } from '../../server/alarms/types.ts';
import { adminToken, eventually, startTestApp, tempDir, type TestApp } from '../helpers/app.ts';
import { connectDevice } from '../helpers/mqtt.ts';
import { startReceiver, type Receiver } from '../helpers/receiver.ts';

let t: TestApp;
let receiver: Receiver;
let token: string;
let door: MqttClient;
let seq = 0;

async function api(method: string, url: string, body?: unknown) {
  const res = await fetch(`${t.httpUrl}${url}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return { status: res.status, body: (await res.json()) as any };
}

const send = (state: 'open' | 'closed') =>
  door.publishAsync('storetwin/demo-hotel/door-flap/up', JSON.stringify({ type: 'door', state, seq: ++seq }), { qos: 1 });

const doorAlarms = async (): Promise<Alarm[]> => (await api('GET', '/api/alarms?state=open&rule=door-opened-armed&limit=100')).body.items;

beforeAll(async () => {
  receiver = await startReceiver();
  const dataDir = await tempDir();
  await writeFile(
    path.join(dataDir, 'notify.yaml'),
    ['allowPrivateNetworks: ["127.0.0.1"]', 'sites:', '  demo-hotel:', '    routes:', `      - { id: desk, channel: webhook, preset: generic, url: "${receiver.url}/desk" }`].join('\n'),
  );
  t = await startTestApp({}, { dataDir });
  token = await adminToken(t.app);
  const { secret } = await t.app.devices.register({ id: 'door-flap', site: 'demo-hotel', type: 'door-sensor', zone: '4-07' });
  door = await connectDevice(t.mqttUrl, 'door-flap', secret);
  expect((await api('POST', '/api/sites/demo-hotel/zones/4-07/arm', {})).status).toBe(200);
});

afterAll(async () => {
  await door?.endAsync();
  await t?.stop();
  await receiver?.close();
});

describe('a door flapping in an armed room', () => {
  it('three flaps within a second: one critical alarm, count ≥ 3, listed after the door closed until acknowledged', async () => {
    for (let i = 0; i < 3; i++) {
      await send('open');
      await send('closed');
    }
    const [alarm] = await eventually(async () => {
      const items = await doorAlarms();
      return items.length === 1 && items[0]!.count >= 3 && items[0]!.restoredAt !== null ? items : null;
    });
    expect(alarm).toMatchObject({ severity: 'critical', state: 'active', acknowledged: false, latched: true, zone: '4-07' });
    // Still there a moment later: nothing clears a latched alarm but a person.
    await new Promise((r) => setTimeout(r, 300));
    expect((await doorAlarms()).map((a) => a.id)).toEqual([alarm!.id]);

    const acked = await api('POST', `/api/alarms/${alarm!.id}/ack`, { comment: 'guest opened the wrong door' });
    expect(acked.body.alarm).toMatchObject({ state: 'cleared', acknowledged: true });
    expect(await doorAlarms()).toEqual([]);
    const history = (await api('GET', `/api/alarms/${alarm!.id}`)).body.alarm.history.map((h: { action: string }) => h.action);
    expect(history).toContain('restored');

    // The desk heard of the incident once, and of its acknowledgement (which closed it out).
    const events = () => receiver.requests.filter((r) => r.path === '/desk').map((r) => (JSON.parse(r.body) as { event: string }).event);
    await eventually(() => events().includes('acknowledged'));
    expect(events().filter((e) => e === 'raised')).toHaveLength(1);
  });
});
