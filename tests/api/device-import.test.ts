/**
 * `POST /api/devices/import?site=` on the real app: a technician imports a CSV and each device
 * connects over MQTT with the secret in the answer (and sits in the twin), the audit log holds
 * one entry per device; bad rows are all reported and nothing is imported; managers and
 * operators are refused (403), a technician limited to one site cannot import into another
 * (404, nothing stored); a body past 1 MB answers the import's coded 413; JSON is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMPORT_LIMITS, type ImportAnswer, type ImportProblem } from '../../protocol/devices.ts';
import { eventually, startTestApp, type TestApp } from '../helpers/app.ts';
import { connectDevice } from '../helpers/mqtt.ts';

const PASSWORD = 'correct horse battery';
const HOTEL = 'demo-hotel';
const SHOP = 'demo-shop';
let t: TestApp;
const tokens: Record<string, string> = {};

async function importCsv(token: string, site: string, csv: string, type = 'text/csv'): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${t.httpUrl}/api/devices/import?site=${site}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': type }, body: csv });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const errorOf = (body: Record<string, unknown>) => body.error as { code: string; message: string; detail?: { problems: ImportProblem[] } };

beforeAll(async () => {
  t = await startTestApp();
  for (const [username, role, sites] of [
    ['root', 'admin', []],
    ['tom', 'technician', []],
    ['tess', 'technician', [SHOP]],
    ['mary', 'manager', []],
    ['olga', 'operator', []],
  ] as const) {
    await t.app.users.createUser({ username, password: PASSWORD, role, sites: [...sites] });
    tokens[username] = (await t.app.users.login(username, PASSWORD)).token;
  }
}, 60_000);

afterAll(async () => {
  await t?.stop();
});

describe('POST /api/devices/import', () => {
  it('registers every device of a clean file; each connects with its secret; one audit entry each', async () => {
    const csv = 'id,type,zone,label,imei\r\nimp-door-3-05,door-sensor,3-05,Room 305,864475040300005\r\nimp-door-3-06,door-sensor,3-06,,864475040300006\r\n';
    const res = await importCsv(tokens.tom!, HOTEL, csv);
    expect(res.status).toBe(201);
    const answer = res.body as unknown as ImportAnswer;
    expect(answer.devices.map((d) => d.device.id)).toEqual(['imp-door-3-05', 'imp-door-3-06']);
    expect(answer.devices[0]!.device).toMatchObject({ site: HOTEL, zone: '3-05', label: 'Room 305', externalIds: { imei: '864475040300005' } });

    const { device, secret } = answer.devices[1]!;
    const client = await connectDevice(t.mqttUrl, device.id, secret);
    await client.publishAsync(`storetwin/${HOTEL}/${device.id}/up`, JSON.stringify({ type: 'heartbeat', battery: 3.01, rsrp: -97, seq: 1 }), { qos: 1 });
    await client.endAsync();
    await eventually(() => t.app.twin.deviceState(device.id)?.battery === 3.01);
    expect(t.app.twin.deviceState(device.id)).toMatchObject({ battery: 3.01, rsrp: -97 });

    const audit = await fetch(`${t.httpUrl}/api/audit?action=device.registered&site=${HOTEL}`, { headers: { authorization: `Bearer ${tokens.root}` } });
    const entries = ((await audit.json()) as { items: Array<{ user: string; target: { id: string } }> }).items;
    expect(entries.filter((e) => e.user === 'tom').map((e) => e.target.id).sort()).toEqual(['imp-door-3-05', 'imp-door-3-06']);
    expect(JSON.stringify(entries)).not.toContain(secret);
  });

  it('reports every bad row at once and imports none of the file', async () => {
    const csv = 'id,type,zone\nimp-ok-1,door-sensor,3-07\nimp-door-3-05,door-sensor,3-08\nimp-bad-type,magnet,3-09\nimp-bad-zone,door-sensor,99-99\nimp-ok-1,camera,3-10\n';
    const res = await importCsv(tokens.tom!, HOTEL, csv);
    expect(res.status).toBe(400);
    const error = errorOf(res.body);
    expect(error.code).toBe('STW_ERR_IMPORT_INVALID');
    expect(error.detail!.problems.map((p) => [p.line, p.column, p.code])).toEqual([
      [3, 'id', 'STW_ERR_DEVICE_EXISTS'],
      [4, 'type', 'STW_ERR_DEVICE_TYPE_UNKNOWN'],
      [5, 'zone', 'STW_ERR_ZONE_NOT_FOUND'],
      [6, 'id', 'STW_ERR_IMPORT_DUPLICATE'],
    ]);
    expect(await t.app.storage.devices.get('imp-ok-1')).toBeNull();
  });

  it('refuses managers and operators (403) before reading the file', async () => {
    for (const who of ['mary', 'olga']) {
      const res = await importCsv(tokens[who]!, HOTEL, 'id,type,zone\nimp-role-1,door-sensor,3-11\n');
      expect(res.status).toBe(403);
      expect(errorOf(res.body).code).toBe('STW_ERR_FORBIDDEN');
    }
    expect(await t.app.storage.devices.get('imp-role-1')).toBeNull();
  });

  it('a technician limited to the shop cannot import into the hotel (404 as if absent), but can into the shop', async () => {
    const refused = await importCsv(tokens.tess!, HOTEL, 'id,type,zone\nimp-tess-1,door-sensor,3-12\n');
    expect(refused.status).toBe(404);
    expect(errorOf(refused.body).code).toBe('STW_ERR_SITE_NOT_FOUND');
    expect(await t.app.storage.devices.get('imp-tess-1')).toBeNull();

    // An id taken in the hotel is "unavailable" to her, never "exists" with the hotel's name.
    const taken = await importCsv(tokens.tess!, SHOP, 'id,type,zone\nimp-door-3-05,door-sensor,cash-room\n');
    expect(errorOf(taken.body).detail!.problems.map((p) => p.code)).toEqual(['STW_ERR_DEVICE_ID_UNAVAILABLE']);
    expect(JSON.stringify(taken.body)).not.toContain(HOTEL);

    const ok = await importCsv(tokens.tess!, SHOP, 'id,type,zone\nimp-tess-2,door-sensor,cash-room\n');
    expect(ok.status).toBe(201);
    expect((await t.app.storage.devices.get('imp-tess-2'))?.site).toBe(SHOP);
  });

  it('answers an unknown site 404 and a body past 1 MB with the coded 413', async () => {
    expect((await importCsv(tokens.tom!, 'no-such-site', 'id,type,zone\n')).status).toBe(404);
    const big = await importCsv(tokens.tom!, HOTEL, `id,type,zone,label\n${'x'.repeat(IMPORT_LIMITS.bytes + 1)}`);
    expect(big.status).toBe(413);
    expect(errorOf(big.body).code).toBe('STW_ERR_IMPORT_TOO_LARGE');
  });

  it('asks for CSV when sent JSON', async () => {
    const res = await importCsv(tokens.tom!, HOTEL, JSON.stringify([{ id: 'x' }]), 'application/json');
    expect(res.status).toBe(400);
    expect(errorOf(res.body)).toMatchObject({ code: 'STW_ERR_VALIDATION', message: expect.stringContaining('text/csv') });
  });
});
