/**
 * Pushes from platforms through the real app: HTTP on a real socket, the real SQLite file, the
 * twin and rules downstream. The fixtures are the published payloads, byte for byte.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getAdapter } from '../../server/integrations/adapters/index.ts';
import { apiRequest, createIntegration as createIntegrationWith, registerDevice, type Json } from '../helpers/api-client.ts';
import { adminToken, eventually, metricValue, startTestApp, type TestApp } from '../helpers/app.ts';
import { connectDevice } from '../helpers/mqtt.ts';

const FIXTURES = path.join(import.meta.dirname, '..', 'fixtures', 'platforms');
const fixture = (name: string) => readFile(path.join(FIXTURES, name));
const HOTEL = 'demo-hotel';
const SHOP = 'demo-shop';

let t: TestApp;
let admin: string;

const api = (token: string, method: string, url: string, body?: unknown) => apiRequest(t.httpUrl, token, method, url, body);

async function push(adapter: string, token: string | null, body: Buffer | string, contentType = 'application/json', query = '') {
  const q = [token === null ? '' : `token=${encodeURIComponent(token)}`, query].filter(Boolean).join('&');
  const res = await fetch(`${t.httpUrl}/api/ingest/${adapter}${q ? `?${q}` : ''}`, { method: 'POST', headers: { 'content-type': contentType }, body });
  const text = await res.text();
  return { status: res.status, text, body: text.startsWith('{') ? (JSON.parse(text) as Json) : {} };
}

const createIntegration = (adapter: string, site: string, settings: Record<string, unknown> = {}) => createIntegrationWith(t.httpUrl, admin, { adapter, site, settings });

const register = (id: string, site: string, type: string, zone: string, externalIds: Record<string, string>) => registerDevice(t.httpUrl, admin, { id, site, type, zone, externalIds });

async function storedEvents(device: string) {
  const res = await api(admin, 'GET', `/api/events?device=${device}&limit=100`);
  return (res.body.items as { type: string; data: Record<string, unknown> }[]).filter((e) => e.type !== 'status');
}

beforeAll(async () => {
  t = await startTestApp();
  admin = await adminToken(t.app);
});

afterAll(async () => {
  await t?.stop();
});

describe('CTWing push', () => {
  it('stores the published decoded push as a heartbeat of the device with that deviceId, once however often the platform retries it', async () => {
    const { token, pushUrl } = await createIntegration('ctwing', HOTEL);
    expect(pushUrl).toContain('/api/ingest/ctwing?token=');
    await register('door-ct-1', HOTEL, 'door-sensor', '2-01', { ctwing: 'acf7baaee65e431eadfb8f5fe50e8b81' });
    const body = await fixture('ctwing-datareport-decoded.json');

    const first = await push('ctwing', token, body);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ accepted: 1, duplicates: 0, unknown: 0, refused: 0 });
    const again = await push('ctwing', token, body);
    expect(again.body).toMatchObject({ accepted: 0, duplicates: 1 });

    const events = await storedEvents('door-ct-1');
    expect(events.map((e) => e.type).sort()).toEqual(['door', 'heartbeat']);
    expect(events.find((e) => e.type === 'heartbeat')!.data).toMatchObject({ rsrp: -114, snr: 1, csq: 5 });
    const state = await api(admin, 'GET', `/api/sites/${HOTEL}/state`);
    const device = (state.body.devices as Record<string, { rsrp: number | null; door: string | null }>)['door-ct-1'];
    expect(device).toMatchObject({ rsrp: -114, door: 'closed' });
  });

  it('decodes transparent APPdata with the device type codec: an AA55 alarm frame opens the door; a bad checksum is refused with its code and changes nothing', async () => {
    const { token } = await createIntegration('ctwing', HOTEL);
    await register('door-ct-2', HOTEL, 'door-sensor', '2-02', { ctwing: 'ct-frame-2' });
    const published = JSON.parse((await fixture('ctwing-datareport-passthrough.json')).toString()) as Json;
    const frame = (hex: string, sn: number) => JSON.stringify({ ...published, deviceId: 'ct-frame-2', upPacketSN: sn, timestamp: Date.now(), payload: { APPdata: Buffer.from(hex, 'hex').toString('base64') } });

    const bad = await push('ctwing', token, frame('AA5501030A010000000000280C000044', 1));
    expect(bad.status).toBe(200);
    expect(bad.body.refused).toBe(1);
    expect(bad.body.problems[0].code).toBe('STW_ERR_FRAME_CHECKSUM');
    expect(await metricValue(t.httpUrl, 'storetwin_integration_messages_total', { adapter: 'ctwing', outcome: 'refused', code: 'STW_ERR_FRAME_CHECKSUM' })).toBe(1);
    expect(await storedEvents('door-ct-2')).toEqual([]);

    const good = await push('ctwing', token, frame('AA5501030A010000000000280C000043', 2));
    expect(good.body).toMatchObject({ accepted: 1, refused: 0 });
    await eventually(async () => {
      const state = await api(admin, 'GET', `/api/sites/${HOTEL}/state`);
      return (state.body.devices as Record<string, { door: string | null }>)['door-ct-2']?.door === 'open';
    });
  });

  it('answers 200 for a device nobody registered, counts it and lists it for the site, ready to register', async () => {
    const { token, integration } = await createIntegration('ctwing', HOTEL);
    const res = await push('ctwing', token, await fixture('ctwing-datareport-passthrough.json'));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ accepted: 0, unknown: 1 });
    const unknown = await api(admin, 'GET', `/api/integrations/unknown-devices?site=${HOTEL}`);
    const row = (unknown.body.items as { integration: string; ids: Record<string, string> }[]).find((u) => u.integration === integration.id);
    expect(row?.ids).toEqual({ ctwing: '1501708501' });
    expect(await metricValue(t.httpUrl, 'storetwin_integration_messages_total', { adapter: 'ctwing', outcome: 'unknown-device' })).toBeGreaterThanOrEqual(1);

    // Registered, it drops off the list and its next push is stored.
    await register('door-ct-3', HOTEL, 'door-sensor', '2-03', { ctwing: '1501708501' });
    const after = await api(admin, 'GET', `/api/integrations/unknown-devices?site=${HOTEL}`);
    expect((after.body.items as { integration: string }[]).some((u) => u.integration === integration.id)).toBe(false);
  });

  it("never feeds another site's device, even with its external id", async () => {
    const { token } = await createIntegration('ctwing', SHOP);
    await register('door-ct-hotel', HOTEL, 'door-sensor', '2-04', { ctwing: 'cross-site-1' });
    const published = JSON.parse((await fixture('ctwing-datareport-decoded.json')).toString()) as Json;
    const res = await push('ctwing', token, JSON.stringify({ ...published, deviceId: 'cross-site-1', IMEI: '' }));
    expect(res.body).toMatchObject({ accepted: 0, unknown: 1 });
    expect(await storedEvents('door-ct-hotel')).toEqual([]);
  });

  it('refuses a push without the token, with a wrong or rotated one, to a disabled integration, or over the size cap, each with its code', async () => {
    const { token, integration } = await createIntegration('ctwing', HOTEL);
    const body = await fixture('ctwing-datareport-decoded.json');
    expect((await push('ctwing', null, body)).body.error.code).toBe('STW_ERR_INTEGRATION_TOKEN_INVALID');
    expect((await push('ctwing', 'stw_int_wrong', body)).status).toBe(401);
    // A token is good for its own adapter only.
    expect((await push('onenet', token, body)).body.error.code).toBe('STW_ERR_INTEGRATION_TOKEN_INVALID');
    expect((await push('nosuch', token, body)).body.error.code).toBe('STW_ERR_ADAPTER_UNKNOWN');
    expect((await push('ctwing', token, '{"messageType":')).body.error.code).toBe('STW_ERR_PUSH_MALFORMED');
    const huge = await push('ctwing', token, Buffer.alloc(3 * 1024 * 1024, 0x20));
    expect(huge.status).toBe(413);
    expect(huge.body.error.code).toBe('STW_ERR_PUSH_TOO_LARGE');

    // Bearer works as well as ?token=.
    const bearer = await fetch(`${t.httpUrl}/api/ingest/ctwing`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body });
    expect(bearer.status).toBe(200);

    const rotated = await api(admin, 'POST', `/api/integrations/${integration.id}/token`);
    expect(rotated.status).toBe(200);
    expect((await push('ctwing', token, body)).status).toBe(401);
    expect((await push('ctwing', rotated.body.token, body)).status).toBe(200);

    await api(admin, 'PATCH', `/api/integrations/${integration.id}`, { enabled: false });
    const disabled = await push('ctwing', rotated.body.token, body);
    expect(disabled.status).toBe(403);
    expect(disabled.body.error.code).toBe('STW_ERR_INTEGRATION_DISABLED');

    const listed = await api(admin, 'GET', `/api/integrations?site=${HOTEL}`);
    const row = (listed.body.items as { id: string; counts: { refused: number }; lastError: { code: string } | null; lastMessageAt: string | null }[]).find((i) => i.id === integration.id)!;
    expect(row.counts.refused).toBeGreaterThanOrEqual(2);
    expect(row.lastError?.code).toBe('STW_ERR_INTEGRATION_DISABLED');
    expect(row.lastMessageAt).not.toBeNull();
    expect(await metricValue(t.httpUrl, 'storetwin_refusals_total', { code: 'STW_ERR_INTEGRATION_TOKEN_INVALID', layer: 'integration' })).toBeGreaterThanOrEqual(3);
  });
});

describe('OneNET push', () => {
  it('answers the URL verification, stores the signed AA55 data point and the offline report, refuses a bad signature', async () => {
    const { token } = await createIntegration('onenet', HOTEL, { token: 'storetwin-onenet-token' });
    await register('door-on-1', HOTEL, 'door-sensor', '3-01', { onenet: '2016548723' });

    const verify = await fetch(`${t.httpUrl}/api/ingest/onenet?token=${encodeURIComponent(token)}&msg=x7Kq2&nonce=n0nceV1&signature=0OZd638AoYujiULtLRGn9A%3D%3D`);
    expect(verify.status).toBe(200);
    expect(await verify.text()).toBe('x7Kq2');

    const datapoint = await fixture('onenet-push-datapoint.json');
    expect((await push('onenet', token, datapoint)).body).toMatchObject({ accepted: 1 });
    expect((await push('onenet', token, await fixture('onenet-push-offline.json'))).body).toMatchObject({ accepted: 1 });
    const events = await storedEvents('door-on-1');
    expect(events.find((e) => e.type === 'door')?.data).toMatchObject({ state: 'open', battery: 3.112 });
    const status = (await api(admin, 'GET', `/api/events?device=door-on-1&limit=10`)).body.items as { type: string; data: { online?: boolean; source?: string } }[];
    expect(status.find((e) => e.type === 'status')?.data).toMatchObject({ online: false, source: 'platform' });

    const forged = datapoint.toString().replace('lFYZsgwaJBoGaTPXngriag==', 'AAAAsgwaJBoGaTPXngriag==');
    const refused = await push('onenet', token, forged);
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe('STW_ERR_PUSH_SIGNATURE');
  });
});

describe('Hikvision ISAPI push', () => {
  it('moves the entrance counter and the hall occupancy from a people-counting alert', async () => {
    const { token } = await createIntegration('hikvision', SHOP);
    await register('shop-counter-south', SHOP, 'footfall-counter', 'entrance-south', { hikvision: '44-47-CC-50-00-C1' });
    const published = (await fixture('hikvision-isapi-peoplecounting.xml')).toString();
    // The published alert counted nobody; the same alert with people in it.
    const now = new Date(Date.now() - 60_000).toISOString().replace(/\.\d+Z$/, '+00:00');
    const start = new Date(Date.now() - 180_000).toISOString().replace(/\.\d+Z$/, '+00:00');
    const xml = published
      .replace('<enter>0</enter>', '<enter>9</enter>')
      .replace('<exit>0</exit>', '<exit>2</exit>')
      .replaceAll('2020-04-19T19:35:00+02:00', now)
      .replace('2020-04-19T19:33:00+02:00', start);
    const before = await zoneOccupancy(SHOP, 'sales-hall');

    expect((await push('hikvision', token, await fixture('hikvision-isapi-peoplecounting.xml'), 'application/xml')).body).toMatchObject({ accepted: 1 });
    const res = await push('hikvision', token, xml, 'application/xml');
    expect(res.body).toMatchObject({ accepted: 1 });
    const counts = (await storedEvents('shop-counter-south')).filter((e) => e.type === 'count');
    expect(counts.map((e) => e.data)).toContainEqual(expect.objectContaining({ in: 9, out: 2, period: 120 }));
    await eventually(async () => (await zoneOccupancy(SHOP, 'sales-hall')) === before + 7);

    const truncated = await push('hikvision', token, xml.slice(0, xml.length / 2), 'application/xml');
    expect(truncated.status).toBe(400);
    expect(truncated.body.error.code).toBe('STW_ERR_PUSH_MALFORMED');
  });
});

describe('managing integrations', () => {
  it('is for admins of the site: others get 403, a site-limited admin sees only its sites', async () => {
    const { integration } = await createIntegration('ctwing', HOTEL);
    await t.app.users.createUser({ username: 'op', password: 'correct horse battery', role: 'operator' });
    const op = (await t.app.users.login('op', 'correct horse battery')).token;
    expect((await api(op, 'GET', '/api/integrations')).status).toBe(403);
    expect((await api(op, 'POST', '/api/integrations', { adapter: 'ctwing', site: HOTEL })).status).toBe(403);

    await t.app.users.createUser({ username: 'shopadmin', password: 'correct horse battery', role: 'admin', sites: [SHOP] });
    const shopAdmin = (await t.app.users.login('shopadmin', 'correct horse battery')).token;
    const listed = await api(shopAdmin, 'GET', '/api/integrations');
    expect((listed.body.items as { site: string }[]).every((i) => i.site === SHOP)).toBe(true);
    expect((await api(shopAdmin, 'GET', `/api/integrations/${integration.id}`)).status).toBe(404);
    expect((await api(shopAdmin, 'PATCH', `/api/integrations/${integration.id}`, { enabled: false })).status).toBe(404);
    expect((await api(shopAdmin, 'POST', `/api/integrations/${integration.id}/token`)).status).toBe(404);
    expect((await api(shopAdmin, 'DELETE', `/api/integrations/${integration.id}`)).status).toBe(404);
    expect((await api(shopAdmin, 'POST', '/api/integrations', { adapter: 'ctwing', site: HOTEL })).status).toBe(404);

    await t.app.users.createUser({ username: 'tech-shop', password: 'correct horse battery', role: 'technician', sites: [SHOP] });
    const tech = (await t.app.users.login('tech-shop', 'correct horse battery')).token;
    const unknown = await api(tech, 'GET', '/api/integrations/unknown-devices');
    expect(unknown.status).toBe(200);
    expect((unknown.body.items as { site: string }[]).every((u) => u.site === SHOP)).toBe(true);
  });

  it('validates settings against the adapter and never shows a secret setting again', async () => {
    const bad = await api(admin, 'POST', '/api/integrations', { adapter: 'onenet', site: HOTEL, settings: {} });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('STW_ERR_INTEGRATION_SETTINGS_INVALID');
    const { integration } = await createIntegration('onenet', HOTEL, { token: 'a-secret-push-token' });
    const shown = await api(admin, 'GET', `/api/integrations/${integration.id}`);
    expect(JSON.stringify(shown.body)).not.toContain('a-secret-push-token');
    // Changing something else keeps the secret.
    const renamed = await api(admin, 'PATCH', `/api/integrations/${integration.id}`, { name: 'OneNET hotel', settings: { token: shown.body.integration.settings.token } });
    expect(renamed.status).toBe(200);
    expect((await t.app.integrations.get(integration.id))?.settings).toMatchObject({ token: 'a-secret-push-token' });
  });
});

async function zoneOccupancy(site: string, zone: string): Promise<number> {
  const state = await api(admin, 'GET', `/api/sites/${site}/state`);
  const z = (state.body.zones as Record<string, { occupancy: number | null }>)[zone];
  return z?.occupancy ?? 0;
}

describe('a DTU data-point list in CTWing APPdata', () => {
  it('becomes the door state once the integration maps the data point (the published passthrough push)', async () => {
    const { token } = await createIntegration('ctwing', HOTEL, { appData: 'datapoints', dataPoints: { '222': { to: 'door', values: { '1': 'open', '0': 'closed' } } } });
    await register('door-dtu-1', HOTEL, 'door-sensor', '3-02', { ctwing: 'dtu-0001' });
    // The published push, from another device (its own id is registered by an earlier test).
    const published = (await fixture('ctwing-datareport-passthrough.json')).toString().replace('"deviceId":"1501708501"', '"deviceId":"dtu-0001"');
    const res = await push('ctwing', token, published);
    expect(res.body).toMatchObject({ accepted: 1, refused: 0 });
    await eventually(async () => {
      const state = await api(admin, 'GET', `/api/sites/${HOTEL}/state`);
      return (state.body.devices as Record<string, { door: string | null }>)['door-dtu-1']?.door === 'open';
    });
  });
});

describe('the push rate budget', () => {
  it('answers 429 with Retry-After once an integration spends its burst, and other integrations are not slowed', async () => {
    const limited = await startTestApp({ integrations: { pushRate: { perSecond: 0.5, burst: 2 } } });
    try {
      const a = await limited.app.integrations.create({ adapter: 'ctwing', site: HOTEL });
      const b = await limited.app.integrations.create({ adapter: 'ctwing', site: HOTEL });
      const body = await fixture('ctwing-datareport-decoded.json');
      const send = (token: string) => fetch(`${limited.httpUrl}/api/ingest/ctwing?token=${token}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect((await send(a.token)).status).toBe(200);
      expect((await send(a.token)).status).toBe(200);
      const over = await send(a.token);
      expect(over.status).toBe(429);
      expect(over.headers.get('retry-after')).not.toBeNull();
      expect(((await over.json()) as { error: { code: string } }).error.code).toBe('STW_ERR_INTEGRATION_RATE_LIMITED');
      expect((await send(b.token)).status).toBe(200);
    } finally {
      await limited.stop();
    }
  });
});

describe('a battery reported as a percentage', () => {
  it('raises the low-battery alarm (CTWing Battery_Level, no volts)', async () => {
    const { token } = await createIntegration('ctwing', HOTEL);
    await register('door-pct-1', HOTEL, 'door-sensor', '3-03', { ctwing: 'pct-0001' });
    const published = (await fixture('ctwing-datareport-decoded.json')).toString().replace('"deviceId":"acf7baaee65e431eadfb8f5fe50e8b81"', '"deviceId":"pct-0001"').replace('"IMEI":"860374051096202"}', '"IMEI":""}').replace('"Battery_Level":100', '"Battery_Level":9');
    expect((await push('ctwing', token, published)).body).toMatchObject({ accepted: 1 });
    const alarm = await eventually(async () => {
      const res = await api(admin, 'GET', `/api/alarms?site=${HOTEL}`);
      return (res.body.items as { rule: string; device: string | null }[]).find((a) => a.rule === 'low-battery-percent' && a.device === 'door-pct-1');
    });
    expect(alarm).toBeDefined();
  });
});

describe('a Hikvision camera in an armed zone', () => {
  it("raises intrusion confirmed with the picture that came with the camera's own alert", async () => {
    const hikvision = getAdapter('hikvision')!;
    const picture = hikvision.examples.flatMap((e) => e.expect).find((m) => m.picture !== undefined)!.picture!;
    const { token } = await createIntegration('hikvision', SHOP);
    await register('shop-cam-office', SHOP, 'camera', 'back-office', { hikvision: 'BC-AD-28-4F-1E-99' });
    const sensor = await api(admin, 'POST', '/api/devices', { id: 'shop-door-office', site: SHOP, type: 'door-sensor', zone: 'back-office' });
    expect((await api(admin, 'POST', `/api/sites/${SHOP}/zones/back-office/arm`, {})).status).toBe(200);
    const door = await connectDevice(t.mqttUrl, 'shop-door-office', sensor.body.secret as string);
    try {
      await door.publishAsync(`storetwin/${SHOP}/shop-door-office/up`, JSON.stringify({ type: 'door', state: 'open', seq: 1 }), { qos: 1 });
      // What the camera pushes: an intrusion (field detection) alert with its picture, as multipart.
      const req = await hikvision.render(
        { ids: { hikvision: 'bc:ad:28:4f:1e:99' }, at: new Date().toISOString(), body: { kind: 'events', events: [{ type: 'motion', label: 'fielddetection' }] }, picture },
        { settings: {}, state: {}, now: Date.now() },
      );
      expect((await push('hikvision', token, req.body, req.contentType)).body).toMatchObject({ accepted: 1 });
      const alarm = await eventually(async () => {
        const res = await api(admin, 'GET', `/api/alarms?site=${SHOP}`);
        const found = (res.body.items as { rule: string; zone: string; snapshot: { status: string; url?: string } | null }[]).find((a) => a.rule === 'shop-intrusion-confirmed' && a.zone === 'back-office');
        return found?.snapshot?.status === 'attached' ? found : null;
      }, 10_000);
      const jpeg = await fetch(`${t.httpUrl}${alarm.snapshot!.url}`, { headers: { authorization: `Bearer ${admin}` } });
      expect(Buffer.from(await jpeg.arrayBuffer()).equals(picture)).toBe(true);
    } finally {
      await door.endAsync();
    }
  });
});
