import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOTEL, SHOP, fixedState, startApi, type Harness } from './harness.ts';

describe('sites API', () => {
  let api: Harness;
  let operator: string;
  let shopOnly: string;
  let technician: string;

  beforeAll(async () => {
    api = await startApi();
    [operator, shopOnly, technician] = await Promise.all([
      api.userToken('op', 'operator'),
      api.userToken('shop-op', 'operator', [SHOP]),
      api.userToken('tech', 'technician'),
    ]);
    const admin = await api.userToken('root', 'admin');
    // One placed as in the site file (no position given), one in the hotel.
    for (const body of [
      { id: 'shop-cam-office', site: SHOP, type: 'camera', zone: 'back-office' },
      { id: 'shop-door-cash', site: SHOP, type: 'door-sensor', zone: 'cash-room', position: [1, 2, 3], label: 'Moved' },
      { id: 'hotel-extra-cam', site: HOTEL, type: 'camera', zone: 'lobby' },
    ]) {
      expect((await api.request('POST', '/api/devices', { token: admin, body })).status).toBe(201);
    }
  });
  afterAll(() => api.close());

  it('lists site summaries', async () => {
    const res = await api.request('GET', '/api/sites', { token: operator });
    expect(res.status).toBe(200);
    const shop = res.body.items.find((s: { id: string }) => s.id === SHOP);
    const model = api.sites.get(SHOP)!;
    expect(shop).toEqual({
      id: SHOP,
      name: model.name,
      kind: 'shop',
      timezone: 'Asia/Shanghai',
      floors: model.floors.length,
      zones: model.floors.reduce((n, f) => n + f.zones.length, 0),
      devices: 2,
    });
    expect(res.body.items.map((s: { id: string }) => s.id).sort()).toEqual([HOTEL, SHOP]);
  });

  it('returns the model with registered devices and their positions', async () => {
    const res = await api.request('GET', `/api/sites/${SHOP}`, { token: technician });
    expect(res.status).toBe(200);
    expect(res.body.floors).toEqual(api.sites.get(SHOP)!.floors);
    const byId = new Map(res.body.devices.map((d: { id: string }) => [d.id, d]));
    expect([...byId.keys()].sort()).toEqual(['shop-cam-office', 'shop-door-cash']);
    // No position registered: the site file's placement fills it in, with the camera's view.
    expect(byId.get('shop-cam-office')).toMatchObject({
      type: 'camera',
      zone: 'back-office',
      position: [29.5, 16.5, 2.6],
      label: 'Back office',
      watches: ['back-office'],
      fov: { heading: 215, angle: 90, range: 10 },
    });
    expect(byId.get('shop-door-cash')).toMatchObject({ position: [1, 2, 3], label: 'Moved', door: 'd-cash-room' });
    const hotel = await api.request('GET', `/api/sites/${HOTEL}`, { token: technician });
    expect(hotel.body.devices).toEqual([
      { id: 'hotel-extra-cam', type: 'camera', zone: 'lobby', label: null, position: null, enabled: true },
    ]);
  });

  it('passes the twin state through', async () => {
    const res = await api.request('GET', `/api/sites/${SHOP}/state`, { token: operator });
    expect(res.status).toBe(200);
    expect(res.body).toEqual(fixedState(SHOP));
  });

  it('answers 404 for an unknown site', async () => {
    for (const path of ['/api/sites/nowhere', '/api/sites/nowhere/state']) {
      const res = await api.request('GET', path, { token: operator });
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('STW_ERR_SITE_NOT_FOUND');
    }
  });

  it('scopes a user restricted to one site, hiding the others as not found', async () => {
    const list = await api.request('GET', '/api/sites', { token: shopOnly });
    expect(list.body.items.map((s: { id: string }) => s.id)).toEqual([SHOP]);
    expect((await api.request('GET', `/api/sites/${SHOP}`, { token: shopOnly })).status).toBe(200);

    for (const path of [`/api/sites/${HOTEL}`, `/api/sites/${HOTEL}/state`, `/api/devices?site=${HOTEL}`, `/api/events?site=${HOTEL}`]) {
      const res = await api.request('GET', path, { token: shopOnly });
      expect(res.status, path).toBe(404);
      expect(res.body.error.code).toBe('STW_ERR_SITE_NOT_FOUND');
    }
    const device = await api.request('GET', '/api/devices/hotel-extra-cam', { token: shopOnly });
    expect(device.status).toBe(404);
    expect(device.body.error.code).toBe('STW_ERR_DEVICE_NOT_FOUND');

    // Without a site filter, lists hold only the user's site.
    const devices = await api.request('GET', '/api/devices', { token: shopOnly });
    expect(devices.body.items.map((d: { site: string }) => d.site)).toEqual([SHOP, SHOP]);
  });

  it('keeps a restricted technician from registering in other sites', async () => {
    const tech = await api.userToken('shop-tech', 'technician', [SHOP]);
    const res = await api.request('POST', '/api/devices', { token: tech, body: { id: 'sneaky', site: HOTEL, type: 'camera', zone: 'lobby' } });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('STW_ERR_SITE_NOT_FOUND');
  });
});
