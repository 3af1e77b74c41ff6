import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceTypes, placementFieldsOf } from '../../devices/index.ts';
import { CAPABILITIES } from '../../devices/types.ts';
import type { DeviceTypeInfo } from '../../server/api/routes/device-types.ts';
import { ROLES } from '../../server/storage/types.ts';
import { SHOP, startApi, type Harness } from './harness.ts';

describe('GET /api/device-types', () => {
  let api: Harness;

  beforeAll(async () => {
    api = await startApi();
  });
  afterAll(() => api.close());

  it('needs a session', async () => {
    const res = await api.request('GET', '/api/device-types');
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('STW_ERR_AUTH_REQUIRED');
  });

  it('lists every catalogue type as data: what it is called, can do, sends, and where it is placed', async () => {
    const token = await api.userToken('catalogue-op', 'operator');
    const res = await api.request('GET', '/api/device-types', { token });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(['items']);
    const items = res.body.items as DeviceTypeInfo[];
    expect(items.map((i) => i.id)).toEqual(deviceTypes.map((t) => t.id));
    for (const [i, type] of deviceTypes.entries()) {
      // Exactly these keys: no codec, schema or simulator crosses the wire.
      expect(items[i]).toStrictEqual({
        id: type.id,
        label: { en: type.label.en, 'zh-CN': type.label['zh-CN'] },
        idPrefix: type.idPrefix,
        capabilities: [...type.capabilities],
        events: [...type.events],
        formats: [...type.formats],
        heartbeatIntervalS: type.heartbeatIntervalS,
        placement: [...placementFieldsOf(type.id)],
      });
      for (const c of items[i]!.capabilities) expect(CAPABILITIES).toContain(c);
    }
    // The built-in three, as the dashboard draws them.
    const byId = new Map(items.map((i) => [i.id, i]));
    expect(byId.get('door-sensor')).toMatchObject({ capabilities: expect.arrayContaining(['door', 'battery', 'tamper']), placement: ['door'], formats: ['json', 'binary'] });
    expect(byId.get('camera')).toMatchObject({ capabilities: expect.arrayContaining(['motion', 'snapshot']), placement: ['watches', 'fov'] });
    expect(byId.get('footfall-counter')).toMatchObject({ capabilities: expect.arrayContaining(['count']), placement: ['counts'] });
  });

  it('answers every role and every site scope the same whole catalogue: it names no site', async () => {
    const expected = (await api.request('GET', '/api/device-types', { token: await api.userToken('catalogue-admin', 'admin') })).body;
    for (const role of ROLES) {
      for (const sites of [undefined, [SHOP]]) {
        const token = await api.userToken(`catalogue-${role}-${sites ? 'shop' : 'all'}`, role, sites);
        const res = await api.request('GET', '/api/device-types', { token });
        expect(res.status, `${role} ${sites ? 'shop only' : 'all sites'}`).toBe(200);
        expect(res.body).toEqual(expected);
      }
    }
  });
});
