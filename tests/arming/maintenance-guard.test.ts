/**
 * Issue 9 item 6, end to end over real sockets: maintenance must not be a back door around
 * arming. A technician (devices:write, no zones:arm) cannot put a whole zone under maintenance
 * nor end a zone window, and keeps device windows short; a window that swallows a critical
 * alarm leaves an `info` entry in the alarm console, which follows the normal routing.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alarm } from '../../server/alarms/types.ts';
import type { Role } from '../../server/storage/types.ts';
import { eventually, metricValue, startTestApp, tempDir, type TestApp } from '../helpers/app.ts';
import { connectDevice } from '../helpers/mqtt.ts';
import { startReceiver, type Receiver } from '../helpers/receiver.ts';

const SHOP = 'demo-shop';
const DOOR = 'shop-door-cash';
const HOUR = 3600_000;

let t: TestApp;
let receiver: Receiver;
let door: MqttClient;
let seq = 0;
const tokens = { tech: '', manager: '' };

async function login(username: string, role: Role): Promise<string> {
  await t.app.users.createUser({ username, password: 'correct horse battery', role });
  return (await t.app.users.login(username, 'correct horse battery')).token;
}

async function call(method: string, url: string, token: string, body?: unknown) {
  const res = await fetch(`${t.httpUrl}${url}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

const inHours = (h: number) => new Date(Date.now() + h * HOUR).toISOString();

async function openCashRoomDoor(): Promise<void> {
  seq += 1;
  await door.publishAsync(`storetwin/${SHOP}/${DOOR}/up`, JSON.stringify({ type: 'door', state: 'open', seq }), { qos: 1 });
}

async function openAlarms(): Promise<Alarm[]> {
  const res = await call('GET', `/api/alarms?site=${SHOP}&state=open`, tokens.manager);
  expect(res.status).toBe(200);
  return res.body.items as Alarm[];
}

beforeAll(async () => {
  receiver = await startReceiver();
  const dataDir = await tempDir();
  // The shop's pager only asks for critical and major alarms: the info entry must not reach it.
  await writeFile(
    path.join(dataDir, 'notify.yaml'),
    [
      `allowPrivateNetworks: ["127.0.0.1"]`,
      `sites:`,
      `  ${SHOP}:`,
      `    routes:`,
      `      - { id: pager, channel: webhook, preset: generic, url: "${receiver.url}/pager", severities: [critical, major] }`,
    ].join('\n'),
  );
  t = await startTestApp({}, { dataDir });
  tokens.tech = await login('tech', 'technician');
  tokens.manager = await login('boss', 'manager');
  const { secret } = await t.app.devices.register({ id: DOOR, site: SHOP, type: 'door-sensor', zone: 'cash-room' });
  door = await connectDevice(t.mqttUrl, DOOR, secret);
  expect((await call('POST', `/api/sites/${SHOP}/zones/cash-room/arm`, tokens.manager, {})).status).toBe(200);
});

afterAll(async () => {
  await door?.endAsync();
  await t?.stop();
  await receiver?.close();
});

describe('maintenance is not a back door around arming', () => {
  it('refuses a technician zone maintenance, so the armed cash room still raises its critical alarm', async () => {
    const denied = await call('POST', '/api/maintenance', tokens.tech, { site: SHOP, zone: 'cash-room', until: '2036-01-01T00:00:00Z' });
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe('STW_ERR_FORBIDDEN');
    // Nor for an hour: a zone needs zones:arm whatever the length.
    expect((await call('POST', '/api/maintenance', tokens.tech, { site: SHOP, zone: 'cash-room', until: inHours(1) })).status).toBe(403);
    expect((await call('GET', `/api/maintenance?site=${SHOP}`, tokens.tech)).body.items).toEqual([]);

    await openCashRoomDoor();
    const alarm = await eventually(async () => (await openAlarms()).find((a) => a.rule === 'door-opened-armed' && a.zone === 'cash-room'));
    expect(alarm).toMatchObject({ severity: 'critical', state: 'active', device: DOOR });
    await eventually(() => receiver.requests.find((r) => r.path === '/pager' && JSON.parse(r.body).alarm?.id === alarm.id));

    // Closed out (acknowledged and cleared) so the next test starts from a quiet console.
    expect((await call('POST', `/api/alarms/${alarm.id}/ack`, tokens.manager, {})).status).toBe(200);
    expect((await call('POST', `/api/alarms/${alarm.id}/clear`, tokens.manager, {})).status).toBe(200);
  });

  it('caps a technician device window at 8 h and any window at 30 days', async () => {
    const long = await call('POST', '/api/maintenance', tokens.tech, { site: SHOP, device: 'shop-cam-cash', until: inHours(9) });
    expect(long.status).toBe(400);
    expect(long.body.error.code).toBe('STW_ERR_VALIDATION');
    expect(long.body.error.message).toContain('8 h');
    const scheduledLong = await call('POST', '/api/maintenance', tokens.tech, { site: SHOP, device: 'shop-cam-cash', from: inHours(1), until: inHours(10) });
    expect(scheduledLong.status).toBe(400);

    const ok = await call('POST', '/api/maintenance', tokens.tech, { site: SHOP, device: 'shop-cam-cash', until: inHours(7.5), reason: 'lens cleaning' });
    expect(ok.status).toBe(201);
    expect(ok.body.maintenance).toMatchObject({ site: SHOP, device: 'shop-cam-cash', zone: null, by: 'tech', active: true });
    // A technician ends their own device window.
    expect((await call('DELETE', `/api/maintenance/${ok.body.maintenance.id}`, tokens.tech)).body.maintenance).toMatchObject({ active: false });

    // zones:arm keeps longer windows, but not to 2036.
    expect((await call('POST', '/api/maintenance', tokens.manager, { site: SHOP, device: 'shop-cam-cash', until: inHours(48) })).status).toBe(201);
    const year = await call('POST', '/api/maintenance', tokens.manager, { site: SHOP, zone: 'storage', until: '2036-01-01T00:00:00Z' });
    expect(year.status).toBe(400);
    expect(year.body.error.message).toContain('30 days');
  });

  it("records a critical alarm swallowed by a manager's zone window as an info alarm in the console", async () => {
    const before = await metricValue(t.httpUrl, 'storetwin_alarms_suppressed_total', { rule: 'door-opened-armed' });
    const until = inHours(2);
    const created = await call('POST', '/api/maintenance', tokens.manager, { site: SHOP, zone: 'cash-room', until, reason: 'safe service' });
    expect(created.status).toBe(201);
    const window = created.body.maintenance as { id: number; by: string; until: string };
    expect(window).toMatchObject({ zone: 'cash-room', by: 'boss', active: true });

    await openCashRoomDoor();
    const record = await eventually(async () => (await openAlarms()).find((a) => a.rule === 'maintenance-suppressed'));
    expect(record).toMatchObject({ site: SHOP, zone: 'cash-room', device: DOOR, source: `${SHOP}/cash-room`, severity: 'info', state: 'active', count: 1 });
    expect(record.message.en).toMatch(/^Critical alarm suppressed by maintenance: Door opened in armed zone Cash room/);
    expect(record.message.en).toContain('window by boss until');
    expect(record.message['zh-CN']).toContain('维护');
    expect(record.message['zh-CN']).toContain('boss');
    expect(record.details).toMatchObject({
      suppressed: { rule: 'door-opened-armed', severity: 'critical' },
      maintenance: { id: window.id, by: 'boss', until: window.until, zone: 'cash-room' },
    });

    await openCashRoomDoor();
    await eventually(async () => (await openAlarms()).find((a) => a.id === record.id && a.count === 2));
    const open = await openAlarms();
    expect(open.filter((a) => a.rule === 'maintenance-suppressed')).toHaveLength(1);
    expect(open.filter((a) => a.rule === 'door-opened-armed')).toEqual([]);
    expect(await metricValue(t.httpUrl, 'storetwin_alarms_suppressed_total', { rule: 'door-opened-armed' })).toBe(before + 2);
    // Normal routing: the pager asked for critical and major only.
    expect(await t.app.outbox.routesFor(record.id)).toEqual([]);
  });

  it('lets only zones:arm end a zone window', async () => {
    const windows = (await call('GET', `/api/maintenance?site=${SHOP}`, tokens.tech)).body.items as Array<{ id: number; zone: string | null }>;
    const zoneWindow = windows.find((w) => w.zone === 'cash-room');
    expect(zoneWindow).toBeDefined();
    const denied = await call('DELETE', `/api/maintenance/${zoneWindow!.id}`, tokens.tech);
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe('STW_ERR_FORBIDDEN');
    expect((await call('GET', `/api/maintenance?site=${SHOP}`, tokens.tech)).body.items).toContainEqual(expect.objectContaining({ id: zoneWindow!.id, active: true }));
    const ended = await call('DELETE', `/api/maintenance/${zoneWindow!.id}`, tokens.manager);
    expect(ended.status).toBe(200);
    expect(ended.body.maintenance).toMatchObject({ active: false });
  });
});
