/**
 * What the product exists for, end to end over real sockets: a door opens in an armed room →
 * the rule fires → the alarm reaches a socket.io client and a signed webhook; acknowledging
 * stops escalation, an unacknowledged alarm escalates, and clearing closes it.
 */
import { createHmac } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alarm } from '../../server/alarms/types.ts';
import { adminToken, eventually, startTestApp, tempDir, type TestApp } from '../helpers/app.ts';
import { connectDevice } from '../helpers/mqtt.ts';
import { startReceiver, type Receiver } from '../helpers/receiver.ts';

const SECRET = 'webhook-signing-secret';
let t: TestApp;
let receiver: Receiver;
let token: string;
let socket: Socket;
const pushed: Alarm[] = [];
const doors: Record<string, MqttClient> = {};

async function api(method: string, url: string, body?: unknown) {
  const res = await fetch(`${t.httpUrl}${url}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function openDoor(zone: string): Promise<void> {
  const id = `door-flow-${zone}`;
  if (!doors[id]) {
    const { secret } = await t.app.devices.register({ id, site: 'demo-hotel', type: 'door-sensor', zone });
    doors[id] = await connectDevice(t.mqttUrl, id, secret);
  }
  await doors[id].publishAsync(`storetwin/demo-hotel/${id}/up`, JSON.stringify({ type: 'door', state: 'open', seq: Date.now() % 60000 }), { qos: 1 });
}

beforeAll(async () => {
  receiver = await startReceiver();
  const dataDir = await tempDir();
  await writeFile(
    path.join(dataDir, 'notify.yaml'),
    [
      `allowPrivateNetworks: ["127.0.0.1"]`,
      `sites:`,
      `  demo-hotel:`,
      `    routes:`,
      `      - { id: desk, channel: webhook, preset: generic, url: "${receiver.url}/desk", secret: "${SECRET}" }`,
      `      - { id: boss, channel: webhook, preset: generic, url: "${receiver.url}/boss" }`,
      `    escalation:`,
      `      levels: [{ afterMinutes: 0.05, routes: [boss] }]`, // 3 s
    ].join('\n'),
  );
  t = await startTestApp({}, { dataDir });
  token = await adminToken(t.app);
  socket = io(t.httpUrl, { auth: { token }, transports: ['websocket'] });
  socket.on('alarm', (a: Alarm) => pushed.push(a));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  for (const zone of ['3-05', '3-06']) expect((await api('POST', `/api/sites/demo-hotel/zones/${zone}/arm`, {})).status).toBe(200);
});

afterAll(async () => {
  socket?.close();
  for (const c of Object.values(doors)) await c.endAsync();
  await t?.stop();
  await receiver?.close();
});

describe('door opened in an armed room', () => {
  it('reaches socket.io and a signed webhook; ack stops escalation; clear closes it', async () => {
    const started = Date.now();
    await openDoor('3-05');
    const live = await eventually(() => pushed.find((a) => a.zone === '3-05' && a.rule === 'door-opened-armed'), 2000);
    expect(live).toMatchObject({ site: 'demo-hotel', severity: 'critical', state: 'active' });
    expect(live.message['zh-CN']).toContain('布防');

    const hook = await eventually(() => receiver.requests.find((r) => r.path === '/desk' && JSON.parse(r.body).alarm?.id === live.id), 3000);
    const signature = createHmac('sha256', SECRET).update(hook.body).digest('hex');
    expect(hook.headers['x-storetwin-signature']).toBe(`sha256=${signature}`);
    expect(hook.headers['idempotency-key']).toContain(live.id);
    console.log(`door open → socket.io and webhook within ${hook.at - started} ms`);

    const acked = await api('POST', `/api/alarms/${live.id}/ack`, { comment: 'on my way' });
    expect(acked.status).toBe(200);
    expect((acked.body.alarm as Alarm).state).toBe('acknowledged');
    await eventually(() => pushed.find((a) => a.id === live.id && a.state === 'acknowledged'), 2000);

    // Past the 3 s escalation delay: nobody else was told about the acknowledged alarm.
    await new Promise((r) => setTimeout(r, 4000));
    expect(receiver.requests.filter((r) => r.path === '/boss' && JSON.parse(r.body).alarm?.id === live.id)).toEqual([]);

    expect(((await api('GET', `/api/alarms/${live.id}`)).body.alarm as Alarm).snapshot).toMatchObject({ status: 'none' });
    const cleared = await api('POST', `/api/alarms/${live.id}/clear`, {});
    expect((cleared.body.alarm as Alarm).state).toBe('cleared');
    const history = (await api('GET', `/api/alarms/${live.id}`)).body.alarm as Alarm;
    await eventually(() => pushed.find((a) => a.id === live.id && a.state === 'cleared'), 2000);
        expect(history.history.map((h) => [h.action, h.by])).toEqual([
      ['raised', 'rule:door-opened-armed'],
      // The corridor camera watching the room is registered but not connected: it says so.
      ['snapshot', 'system'],
      ['acknowledged', 'admin'],
      ['cleared', 'admin'],
    ]);
  }, 20_000);

  it('an unacknowledged alarm escalates to the next level', async () => {
    await openDoor('3-06');
    const live = await eventually(() => pushed.find((a) => a.zone === '3-06' && a.rule === 'door-opened-armed'), 2000);
    const boss = await eventually(() => receiver.requests.find((r) => r.path === '/boss' && JSON.parse(r.body).alarm?.id === live.id), 8000);
    expect(JSON.parse(boss.body)).toMatchObject({ event: 'escalated', level: 1 });
    expect((await api('GET', `/api/alarms/${live.id}`)).body.alarm).toMatchObject({ escalationLevel: 1 });
  }, 15_000);

  it('a door opened in a disarmed room raises nothing', async () => {
    expect((await api('POST', '/api/sites/demo-hotel/zones/3-07/disarm', {})).status).toBe(200);
    await openDoor('3-07');
    await new Promise((r) => setTimeout(r, 500));
    expect(pushed.find((a) => a.zone === '3-07')).toBeUndefined();
  });

  it('integrations read alarm events over MQTT with a user name and an API token', async () => {
    const integration = await connectAsync(t.mqttUrl, { clientId: 'erp-bridge', username: 'admin', password: token, protocolVersion: 4, reconnectPeriod: 0 });
    const granted = (await integration.subscribeAsync(['storetwin/demo-hotel/alarms', '#'], { qos: 1 }).catch((e: { packet?: { granted: number[] } }) => e)) as {
      packet?: { granted: number[] };
    };
    expect(granted.packet?.granted).toEqual([1, 128]);
    const got = new Promise<{ action: string; alarm: Alarm }>((resolve) =>
      integration.on('message', (topic, payload) => {
        const msg = JSON.parse(payload.toString()) as { action: string; alarm: Alarm };
        if (topic === 'storetwin/demo-hotel/alarms' && msg.alarm.zone === '3-08') resolve(msg);
      }),
    );
    expect((await api('POST', '/api/sites/demo-hotel/zones/3-08/arm', {})).status).toBe(200);
    await openDoor('3-08');
    const msg = await got;
    expect(msg).toMatchObject({ action: 'raised', alarm: { rule: 'door-opened-armed', severity: 'critical' } });
    await integration.endAsync();

    const refused = await connectAsync(t.mqttUrl, { clientId: 'x', username: 'admin', password: 'not-a-token', protocolVersion: 4, reconnectPeriod: 0 }).catch((e: Error) => e);
    expect(refused).toBeInstanceOf(Error);
  });
});
