/**
 * GET /api/sites/{site}/history over real HTTP: permissions and site scoping, validation, the
 * default window, alarms overlapping the window, and gzip only when the client accepts it.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { historyRoutes } from '../../server/api/routes/history.ts';
import { SqliteAlarmStore } from '../../server/alarms/sqlite-store.ts';
import type { Alarm } from '../../server/alarms/types.ts';
import type { History } from '../../server/history/history.ts';
import { generateSiteEvents, registerSiteDevices } from '../history/demo-day.ts';
import { startRoutes, type RoutesHarness } from '../history/harness.ts';
import { putAlarms } from '../helpers/alarms.ts';
import { HOTEL, SHOP } from './harness.ts';

const NOW = Date.parse('2026-11-23T12:00:00Z');
const H = 3600_000;
const iso = (ms: number) => new Date(ms).toISOString();

function alarm(id: string, site: string, firstAt: number, clearedAt: number | null): Alarm {
  return {
    id,
    site,
    zone: 'office',
    device: null,
    rule: 'door-armed',
    source: id,
    severity: 'critical',
    state: clearedAt === null ? 'active' : 'cleared',
    acknowledged: false,
    message: { en: `alarm ${id}`, 'zh-CN': `告警 ${id}` },
    count: 1,
    firstAt: iso(firstAt),
    lastAt: iso(firstAt),
    acknowledgedAt: null,
    acknowledgedBy: null,
    clearedAt: clearedAt === null ? null : iso(clearedAt),
    clearedBy: clearedAt === null ? null : 'system',
    escalationLevel: 0,
    snapshot: null,
    latched: false,
    restoredAt: null,
    chattering: false,
    details: {},
    history: [],
  };
}

describe('history API', () => {
  let h: RoutesHarness;
  const tokens: Record<string, string> = {};
  const url = (q: string, site = HOTEL) => `/api/sites/${site}/history${q}`;

  beforeAll(async () => {
    h = await startRoutes({ routes: (storage) => [historyRoutes({ alarms: new SqliteAlarmStore(storage.db), now: () => NOW })] });
    const hotel = h.sites.get(HOTEL)!;
    await registerSiteDevices(h.storage, hotel, h.directory);
    await generateSiteEvents(h.storage, hotel, { fromMs: NOW - 6 * H, toMs: NOW, seed: 3 });
    const store = new SqliteAlarmStore(h.storage.db);
    await putAlarms(store, [
      alarm('before', HOTEL, NOW - 30 * H, NOW - 26 * H), // cleared before the window
      alarm('spanning', HOTEL, NOW - 30 * H, NOW - 20 * H), // open at `from`
      alarm('inside', HOTEL, NOW - 5 * H, NOW - 4 * H),
      alarm('open', HOTEL, NOW - 1 * H, null),
      alarm('after', HOTEL, NOW + 1 * H, null),
      alarm('shop', SHOP, NOW - 2 * H, null),
    ]);
    tokens.operator = await h.userToken('op', 'operator');
    tokens.technician = await h.userToken('tech', 'technician');
    tokens.shopOnly = await h.userToken('shopkeeper', 'manager', [SHOP]);
  }, 60_000);
  afterAll(async () => h?.close());

  it('needs a session', async () => {
    const res = await h.request('GET', url(''));
    expect(res.status).toBe(401);
  });

  it('defaults to the last 24 h and answers state, changes and overlapping alarms', async () => {
    const res = await h.request('GET', url(''), { token: tokens.operator });
    expect(res.status).toBe(200);
    const body = res.body as History;
    expect(body.site).toBe(HOTEL);
    expect(body.from).toBe(iso(NOW - 24 * H));
    expect(body.to).toBe(iso(NOW));
    expect(Object.keys(body.state.devices).length).toBe(h.sites.get(HOTEL)!.devices.length);
    expect(Object.keys(body.state.zones)).toContain('office');
    expect(body.changes.length).toBeGreaterThan(100);
    for (const c of body.changes) {
      expect(c).toHaveLength(5);
      expect(['d', 'z']).toContain(c[1]);
      expect(c[0]).toBeGreaterThan(NOW - 24 * H);
      expect(c[0]).toBeLessThanOrEqual(NOW);
    }
    expect(body.alarms.map((a) => a.id)).toEqual(['spanning', 'inside', 'open']);
    expect(body.alarms[0]).toEqual({
      id: 'spanning',
      severity: 'critical',
      zone: 'office',
      device: null,
      rule: 'door-armed',
      message: { en: 'alarm spanning', 'zh-CN': '告警 spanning' },
      firstAt: iso(NOW - 30 * H),
      acknowledgedAt: null,
      clearedAt: iso(NOW - 20 * H),
    });
    expect(body.alarmsTruncated).toBe(false);
  });

  it('takes an explicit window', async () => {
    const res = await h.request('GET', url(`?from=${iso(NOW - 4.5 * H)}&to=${iso(NOW - 2 * H)}`), { token: tokens.operator });
    expect(res.status).toBe(200);
    expect(res.body.alarms.map((a: { id: string }) => a.id)).toEqual(['inside']);
    expect(res.body.changes.every((c: [number]) => c[0] > NOW - 4.5 * H && c[0] <= NOW - 2 * H)).toBe(true);
  });

  it('gzips for clients that accept it, and only for them', async () => {
    const plain = await fetch(h.base + url(''), { headers: { authorization: `Bearer ${tokens.operator}`, 'accept-encoding': 'identity' } });
    expect(plain.headers.get('content-encoding')).toBeNull();
    const text = await plain.text();
    const zipped = await fetch(h.base + url(''), { headers: { authorization: `Bearer ${tokens.operator}`, 'accept-encoding': 'gzip' } });
    expect(zipped.headers.get('content-encoding')).toBe('gzip');
    expect(zipped.headers.get('vary')).toMatch(/accept-encoding/i);
    expect(Number(zipped.headers.get('content-length'))).toBeLessThan(text.length / 4);
    expect(await zipped.text()).toBe(text);
  });

  it('validates the window', async () => {
    for (const q of [
      `?from=${iso(NOW)}&to=${iso(NOW - H)}`,
      `?from=${iso(NOW - 8 * 24 * H)}&to=${iso(NOW)}`,
      '?from=yesterday',
      '?to=2026-11-23T12:00',
      '?bogus=1',
      `?from=${iso(NOW - H)}&from=${iso(NOW - 2 * H)}`,
    ]) {
      const res = await h.request('GET', url(q), { token: tokens.operator });
      expect(res.status, q).toBe(400);
      expect(res.body.error.code).toBe('STW_ERR_VALIDATION');
    }
    const week = await h.request('GET', url(`?from=${iso(NOW - 7 * 24 * H)}&to=${iso(NOW)}`), { token: tokens.operator });
    expect(week.status).toBe(200);
  });

  it('scopes to the sites a user may see: another site is a 404 like an unknown one', async () => {
    for (const site of [HOTEL, 'no-such-site']) {
      const res = await h.request('GET', url('', site), { token: tokens.shopOnly });
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('STW_ERR_SITE_NOT_FOUND');
    }
    const own = await h.request('GET', url('', SHOP), { token: tokens.shopOnly });
    expect(own.status).toBe(200);
    expect(own.body.alarms.map((a: { id: string }) => a.id)).toEqual(['shop']);
    expect(Object.keys(own.body.state.devices).every((id: string) => !id.startsWith('door-'))).toBe(true);
  });

  it('refuses a window holding more events than a history may read: 413 STW_ERR_QUERY_TOO_LARGE', async () => {
    // The same database behind a server whose bound is below the hotel's 6 h of events.
    const small = await startRoutes({
      routes: (storage) => [historyRoutes({ alarms: new SqliteAlarmStore(storage.db), now: () => NOW, maxEvents: 2500 })],
      dbFile: join(h.dir, 'storetwin.db'),
    });
    try {
      const token = await small.userToken('op-small', 'operator');
      const big = await small.request('GET', url(''), { token });
      expect(big.status).toBe(413);
      expect(big.body.error.code).toBe('STW_ERR_QUERY_TOO_LARGE');
      // A window within the bound is answered.
      const hour = await small.request('GET', url(`?from=${iso(NOW - 2 * H)}&to=${iso(NOW - 1.9 * H)}`), { token });
      expect(hour.status).toBe(200);
    } finally {
      await small.close();
    }
  });

  it('shows a technician only the device-health alarms their console shows (issue 7)', async () => {
    const store = new SqliteAlarmStore(h.storage.db);
    await putAlarms(store, [{ ...alarm('battery', HOTEL, NOW - 3 * H, null), rule: 'low-battery', severity: 'minor', details: { category: 'device-health' } }]);
    const ids = async (token: string, q = '') => ((await h.request('GET', url(q), { token })).body as History).alarms.map((a) => a.id);
    expect(await ids(tokens.technician!)).toEqual(['battery']);
    expect(await ids(tokens.operator!)).toEqual(['spanning', 'inside', 'battery', 'open']);
  });
});
