import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifySecret } from '../../server/auth/secrets.ts';
import { HOTEL, SHOP, startApi, type Harness } from './harness.ts';

// Every platform named: valid whether the registrar's externalIds schema is exhaustive or partial.
const externalIds = { imei: '860000000000001', ctwing: 'ct-1', onenet: 'on-1', hikvision: 'AA:BB:CC:00:00:01', axis: 'ACCC0001', frigate: 'cash' };
const cashSensor = { id: 'api-door-cash', site: SHOP, type: 'door-sensor', zone: 'cash-room', externalIds };

describe('devices API', () => {
  let api: Harness;
  let admin: string;
  let technician: string;
  let operator: string;
  let manager: string;

  beforeAll(async () => {
    api = await startApi();
    [admin, technician, operator, manager] = await Promise.all([
      api.userToken('root', 'admin'),
      api.userToken('tech', 'technician'),
      api.userToken('op', 'operator'),
      api.userToken('boss', 'manager'),
    ]);
  });
  afterAll(() => api.close());

  it('lets a technician register a device and shows the secret exactly once', async () => {
    const res = await api.request('POST', '/api/devices', { token: technician, body: cashSensor });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe('/api/devices/api-door-cash');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.body.device).toMatchObject({ id: 'api-door-cash', site: SHOP, zone: 'cash-room', enabled: true });
    expect(res.body.device).not.toHaveProperty('secretHash');
    const { secret } = res.body as { secret: string };
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await verifySecret(secret, (await api.storage.devices.get('api-door-cash'))!.secretHash)).toBe(true);

    const one = await api.request('GET', '/api/devices/api-door-cash', { token: operator });
    expect(one.status).toBe(200);
    const list = await api.request('GET', `/api/devices?site=${SHOP}`, { token: operator });
    expect(list.status).toBe(200);
    for (const text of [one.text, list.text]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain('secretHash');
      expect(text).not.toContain('scrypt$');
    }
    // Stored in one spelling per platform: a MAC address lower-case (what Hikvision pushes is matched the same way).
    expect(one.body.device.externalIds).toEqual({ ...externalIds, hikvision: 'aa:bb:cc:00:00:01' });
  });

  it('refuses registration to roles without devices:write', async () => {
    for (const token of [operator, manager]) {
      const res = await api.request('POST', '/api/devices', { token, body: { ...cashSensor, id: 'not-allowed' } });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('STW_ERR_FORBIDDEN');
    }
    const patch = await api.request('PATCH', '/api/devices/api-door-cash', { token: operator, body: { label: 'x' } });
    expect(patch.status).toBe(403);
    const del = await api.request('DELETE', '/api/devices/api-door-cash', { token: manager });
    expect(del.status).toBe(403);
    expect(await api.storage.devices.get('not-allowed')).toBeNull();
  });

  it('answers 409 for a duplicate id and a taken external id', async () => {
    const dup = await api.request('POST', '/api/devices', { token: admin, body: cashSensor });
    expect(dup.status).toBe(409);
    expect(dup.body.error.code).toBe('STW_ERR_DEVICE_EXISTS');
    const taken = await api.request('POST', '/api/devices', { token: admin, body: { ...cashSensor, id: 'other-door' } });
    expect(taken.status).toBe(409);
    expect(taken.body.error.code).toBe('STW_ERR_EXTERNAL_ID_TAKEN');
  });

  it('checks the placement and the type', async () => {
    const zone = await api.request('POST', '/api/devices', { token: admin, body: { ...cashSensor, id: 'lost-door', zone: 'no-such-zone' } });
    expect(zone.status).toBe(404);
    expect(zone.body.error.code).toBe('STW_ERR_ZONE_NOT_FOUND');
    const site = await api.request('POST', '/api/devices', { token: admin, body: { ...cashSensor, id: 'lost-door', site: 'nowhere' } });
    expect(site.status).toBe(404);
    expect(site.body.error.code).toBe('STW_ERR_SITE_NOT_FOUND');
    const type = await api.request('POST', '/api/devices', { token: admin, body: { ...cashSensor, id: 'odd-thing', type: 'toaster' } });
    expect(type.status).toBe(400);
    expect(type.body.error.code).toBe('STW_ERR_DEVICE_TYPE_UNKNOWN');
  });

  it('refuses invalid bodies with 400 STW_ERR_VALIDATION and the issues', async () => {
    const res = await api.request('POST', '/api/devices', { token: admin, body: { ...cashSensor, id: 'Bad Id!' } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('STW_ERR_VALIDATION');
    expect(res.body.error.message).toContain('id');
    expect(res.body.error.detail).toEqual(expect.arrayContaining([expect.objectContaining({ path: ['id'] })]));

    const patch = await api.request('PATCH', '/api/devices/api-door-cash', { token: admin, body: { site: HOTEL } });
    expect(patch.status).toBe(400);
    expect(patch.body.error.code).toBe('STW_ERR_VALIDATION');

    const noBody = await api.request('POST', '/api/devices', { token: admin });
    expect(noBody.status).toBe(400);
    expect(noBody.body.error.code).toBe('STW_ERR_VALIDATION');

    const query = await api.request('GET', '/api/devices?limit=5000', { token: admin });
    expect(query.status).toBe(400);
    expect(query.body.error.detail[0].path).toEqual(['limit']);
  });

  it('answers 413 for an oversized body', async () => {
    const res = await api.request('POST', '/api/devices', { token: admin, body: { ...cashSensor, id: 'huge', label: 'x'.repeat(70_000) } });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('STW_ERR_BODY_TOO_LARGE');
  });

  it('updates, rotates the secret and removes', async () => {
    const patch = await api.request('PATCH', '/api/devices/api-door-cash', {
      token: technician,
      body: { label: 'Cash room door', position: [24.1, 4.5, 2.1] },
    });
    expect(patch.status).toBe(200);
    expect(patch.body.device).toMatchObject({ label: 'Cash room door', position: [24.1, 4.5, 2.1] });

    const before = (await api.storage.devices.get('api-door-cash'))!.secretHash;
    const rotated = await api.request('POST', '/api/devices/api-door-cash/secret', { token: technician });
    expect(rotated.status).toBe(200);
    expect(rotated.body.device.id).toBe('api-door-cash');
    const after = (await api.storage.devices.get('api-door-cash'))!.secretHash;
    expect(after).not.toBe(before);
    expect(await verifySecret(rotated.body.secret, after)).toBe(true);

    const del = await api.request('DELETE', '/api/devices/api-door-cash', { token: technician });
    expect(del.status).toBe(204);
    const gone = await api.request('GET', '/api/devices/api-door-cash', { token: technician });
    expect(gone.status).toBe(404);
    expect(gone.body.error.code).toBe('STW_ERR_DEVICE_NOT_FOUND');
  });

  it('lists with filters and a cursor', async () => {
    for (const zone of ['sales-hall', 'storage', 'back-office']) {
      const res = await api.request('POST', '/api/devices', { token: admin, body: { id: `list-cam-${zone}`, site: SHOP, type: 'camera', zone } });
      expect(res.status).toBe(201);
    }
    const first = await api.request('GET', `/api/devices?site=${SHOP}&type=camera&limit=2`, { token: admin });
    expect(first.body.items).toHaveLength(2);
    expect(first.body.nextCursor).not.toBeNull();
    const second = await api.request('GET', `/api/devices?site=${SHOP}&type=camera&limit=2&cursor=${encodeURIComponent(first.body.nextCursor)}`, {
      token: admin,
    });
    expect(second.body.items).toHaveLength(1);
    expect(second.body.nextCursor).toBeNull();
    const ids = [...first.body.items, ...second.body.items].map((d: { id: string }) => d.id).sort();
    expect(ids).toEqual(['list-cam-back-office', 'list-cam-sales-hall', 'list-cam-storage']);

    const byZone = await api.request('GET', `/api/devices?zone=storage`, { token: admin });
    expect(byZone.body.items.map((d: { id: string }) => d.id)).toEqual(['list-cam-storage']);
    const typo = await api.request('GET', `/api/devices?sites=${SHOP}`, { token: admin });
    expect(typo.status).toBe(400);
  });
});
