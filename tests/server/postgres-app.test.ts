/**
 * StoreTwin with STORETWIN_DATABASE_URL, end to end against a real PostgreSQL: everything
 * transactional — devices, accounts, arming, rules' state, alarms with their history and
 * outbox, the audit log — is kept there, not in the SQLite file. A door opens in an armed room
 * and the alarm is raised and acknowledged over the API; the app is then started again on the
 * same database with an EMPTY data directory, and the user, the device, the armed zone, the
 * acknowledged alarm and the audit entries are all still there.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alarm } from '../../server/alarms/types.ts';
import { adminToken, eventually, startTestApp, type TestApp } from '../helpers/app.ts';
import { connectDevice } from '../helpers/mqtt.ts';
import { startPostgres, type PostgresServer } from '../helpers/postgres.ts';

const HOTEL = 'demo-hotel';
const DOOR = 'door-pg-3-05';
const ZONE = '3-05';
const PASSWORD = 'correct horse battery';

let server: PostgresServer;
let databaseUrl: string;
let t: TestApp;
let token: string;

async function api(method: string, url: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${t.httpUrl}${url}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function rows(sql: string): Promise<Array<Record<string, unknown>>> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query(sql)).rows as Array<Record<string, unknown>>;
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  server = await startPostgres();
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query('CREATE DATABASE storetwin_app');
  await admin.end();
  databaseUrl = server.url.replace(/\/postgres$/, '/storetwin_app');
  t = await startTestApp({ databaseUrl });
  token = await adminToken(t.app, 'pg-admin');
}, 60_000);

afterAll(async () => {
  await t?.stop();
  await server?.stop();
});

describe('everything transactional in PostgreSQL (STORETWIN_DATABASE_URL)', () => {
  let alarmId: string;

  it('raises and acknowledges an alarm with every record in PostgreSQL', async () => {
    const { secret } = await t.app.devices.register({ id: DOOR, site: HOTEL, type: 'door-sensor', zone: ZONE });
    expect((await api('POST', `/api/sites/${HOTEL}/zones/${ZONE}/arm`, {})).status).toBe(200);
    const door = await connectDevice(t.mqttUrl, DOOR, secret);
    await door.publishAsync(`storetwin/${HOTEL}/${DOOR}/up`, JSON.stringify({ type: 'door', state: 'open', seq: 1 }), { qos: 1 });
    await door.endAsync();

    const raised = await eventually(async () => {
      const res = await api('GET', `/api/alarms?site=${HOTEL}&state=active`);
      return (res.body.items as Alarm[]).find((a) => a.zone === ZONE && a.rule === 'door-opened-armed');
    }, 5_000);
    alarmId = raised.id;
    const acked = await api('POST', `/api/alarms/${alarmId}/ack`, { comment: '我去看看' });
    expect(acked.status).toBe(200);

    expect(await rows(`SELECT id FROM devices WHERE id = '${DOOR}'`)).toHaveLength(1);
    expect(await rows(`SELECT username FROM users WHERE username = 'pg-admin'`)).toHaveLength(1);
    expect(await rows(`SELECT id FROM alarms WHERE id = '${alarmId}'`)).toHaveLength(1);
    expect((await rows(`SELECT action FROM audit WHERE action = 'alarm.acknowledged'`)).length).toBe(1);
  });

  it('comes back on the same database with an empty data directory: nothing was in SQLite', async () => {
    await t.stop(); // removes its data directory
    t = await startTestApp({ databaseUrl });
    token = (await t.app.users.login('pg-admin', PASSWORD)).token;

    const alarm = (await api('GET', `/api/alarms/${alarmId}`)).body.alarm as Alarm;
    expect(alarm).toMatchObject({ id: alarmId, state: 'acknowledged', zone: ZONE, device: DOOR });
    expect(alarm.history.map((h) => h.action)).toEqual(expect.arrayContaining(['raised', 'acknowledged']));
    expect((await api('GET', `/api/devices/${DOOR}`)).status).toBe(200);
    const arming = await api('GET', `/api/sites/${HOTEL}/arming`);
    expect(JSON.stringify(arming.body)).toContain(ZONE);
    // A long replay is built in the long-read thread, which reads no database of its own for
    // alarms: they come with the job from the alarm store in PostgreSQL.
    const from = new Date(Date.now() - 30 * 3600_000).toISOString(); // over 24 h: the thread
    const replay = await api('GET', `/api/sites/${HOTEL}/history?from=${from}&to=${new Date().toISOString()}`);
    expect(replay.status).toBe(200);
    expect((replay.body.alarms as Array<{ id: string }>).map((a) => a.id)).toContain(alarmId);
    const audit = await api('GET', '/api/audit?action=alarm');
    expect((audit.body.items as Array<{ action: string }>).map((e) => e.action)).toContain('alarm.acknowledged');
  });
});
