/**
 * GET /api/overview on a real app (SQLite file, ingest, twin, rules, alarms): both demo sites
 * with footfall equal to the footfall summary's (server/history/footfall.ts) for the same
 * instant, occupancy from the twin, open alarms raised the real way (events through ingest →
 * rules), device health; counts arriving after the first answer; scoping (a shop-only user sees
 * the shop only); roles (a technician is refused; an operator gets no response KPI).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OverviewAnswer, SiteOverview } from '../../protocol/overview.ts';
import { countersOf, footfallSummary } from '../../server/history/footfall.ts';
import { eventually } from '../helpers/app.ts';
import { HOTEL, SEEDED, SHOP, startOverviewApp, type OverviewApp } from './app.ts';

let o: OverviewApp;
const tokens: Record<string, string> = {};

async function get(token: string | undefined): Promise<{ status: number; body: OverviewAnswer & { error?: { code: string } } }> {
  const res = await fetch(`${o.base}/api/overview`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, body: (await res.json()) as OverviewAnswer & { error?: { code: string } } };
}

const row = (a: OverviewAnswer, site: string) => a.sites.find((s) => s.site === site) as SiteOverview;

beforeAll(async () => {
  o = await startOverviewApp();
  tokens.mia = await o.user('mia', 'manager');
  tokens.olga = await o.user('olga', 'operator');
  tokens.sho = await o.user('sho', 'manager', [SHOP]);
  tokens.tess = await o.user('tess', 'technician');
  await o.live();
}, 60_000);

afterAll(async () => {
  await o?.stop();
});

describe('GET /api/overview', () => {
  it('lists both demo sites with footfall, occupancy, open alarms and device health', async () => {
    const { status, body } = await get(tokens.mia);
    expect(status).toBe(200);
    expect(body.sites.map((s) => s.site).sort()).toEqual([HOTEL, SHOP]);
    expect(body.response).toBe(true);
    const shop = row(body, SHOP);
    expect(shop.name).toEqual({ en: 'Demo Shop', 'zh-CN': '演示商店' });
    expect(shop.timezone).toBe('Asia/Shanghai');
    expect(shop.alarms.bySeverity.critical).toBe(1);
    expect(shop.alarms.bySeverity.minor).toBeGreaterThanOrEqual(1);
    expect(shop.alarms.open).toBe(Object.values(shop.alarms.bySeverity).reduce((a, b) => a + b, 0));
    expect(shop.alarms.unacknowledged).toBe(shop.alarms.open);
    expect(Date.parse(shop.alarms.oldestUnacknowledgedAt!)).toBeLessThanOrEqual(Date.parse(body.at));
    expect(shop.devices.total).toBe(o.app.sites.get(SHOP)!.devices.length);
    expect(shop.devices.offline).toBe(1);
    expect(shop.devices.lowBattery).toBe(1);
    // Only the devices that have said something are not silent.
    expect(shop.devices.silent).toBe(shop.devices.total - 4);
    expect(shop.occupancy).toEqual({ now: 7, capacity: 60 });
    const hotel = row(body, HOTEL);
    expect(hotel.alarms.bySeverity.critical).toBe(1);
    expect(hotel.alarms.oldestUnacknowledgedAt).not.toBeNull();
    expect(hotel.devices.total).toBe(o.app.sites.get(HOTEL)!.devices.length);
    // Raised seconds ago and not acknowledged: still within its target, not judged yet.
    expect(hotel.response).toEqual({ alarms: 1, ackWithinTargetShare: null });
  });

  it('follows an acknowledgement: no oldest unacknowledged, the share within target', async () => {
    const [tamper] = (await o.app.alarms.open()).filter((a) => a.site === HOTEL);
    const acked = await fetch(`${o.base}/api/alarms/${tamper!.id}/ack`, { method: 'POST', headers: { authorization: `Bearer ${tokens.mia}`, 'content-type': 'application/json' }, body: '{}' });
    expect(acked.status).toBe(200);
    const hotel = row((await get(tokens.mia)).body, HOTEL);
    expect(hotel.alarms).toMatchObject({ open: 1, unacknowledged: 0, oldestUnacknowledgedAt: null });
    expect(hotel.response).toEqual({ alarms: 1, ackWithinTargetShare: 1 });
  });

  it('counts footfall as the footfall summary does, for the same instant', async () => {
    const { body } = await get(tokens.mia);
    const at = Date.parse(body.at);
    for (const siteId of [HOTEL, SHOP]) {
      const site = o.app.sites.get(siteId)!;
      const summary = await footfallSummary(o.app.events, site, countersOf(site, o.app.directory), () => null, at);
      const sum = (key: 'today' | 'lastWeekSameTime' | 'lastWeek') => summary.counters.reduce((t, c) => t + c.totals[key].in, 0);
      const hourly = (key: 'today' | 'lastWeek') => Array.from({ length: 24 }, (_, h) => summary.counters.reduce((t, c) => t + (c[key].in[h] ?? 0), 0));
      const f = row(body, siteId).footfall!;
      expect(f).toEqual({ date: summary.date, compareDate: summary.compareDate, today: sum('today'), lastWeekSameTime: sum('lastWeekSameTime'), lastWeek: sum('lastWeek'), hourly: hourly('today'), lastWeekHourly: hourly('lastWeek') });
    }
    expect(row(body, SHOP).footfall!.today).toBe(SEEDED.shopToday + 7);
    expect(row(body, SHOP).footfall!.lastWeek).toBe(SEEDED.shopLastWeek);
    expect(row(body, HOTEL).footfall!).toMatchObject({ today: SEEDED.hotelToday, lastWeek: SEEDED.hotelLastWeek });
  });

  it('adds counts that arrive after an answer, once', async () => {
    const before = row((await get(tokens.mia)).body, SHOP).footfall!.today;
    await o.accept('shop-counter-north', [{ type: 'count', in: 11, out: 0, period: 60 }]);
    await eventually(async () => row((await get(tokens.mia)).body, SHOP).footfall!.today === before + 11);
    expect(row((await get(tokens.olga)).body, SHOP).footfall!.today).toBe(before + 11);
  });

  it('counts a counter registered after the start', async () => {
    const before = row((await get(tokens.mia)).body, SHOP).footfall!.today;
    await o.app.devices.register({ id: 'shop-counter-extra', site: SHOP, type: 'footfall-counter', zone: 'entrance-south' });
    await o.accept('shop-counter-extra', [{ type: 'count', in: 13, out: 0, period: 60 }]);
    await eventually(async () => row((await get(tokens.mia)).body, SHOP).footfall!.today === before + 13);
    expect(row((await get(tokens.mia)).body, SHOP).devices.total).toBe(o.app.sites.get(SHOP)!.devices.length + 1);
  });

  it('shows a user limited to some sites only those', async () => {
    const { status, body } = await get(tokens.sho);
    expect(status).toBe(200);
    expect(body.sites.map((s) => s.site)).toEqual([SHOP]);
  });

  it('gives an operator the table without the response KPI', async () => {
    const { status, body } = await get(tokens.olga);
    expect(status).toBe(200);
    expect(body.response).toBe(false);
    expect(body.sites).toHaveLength(2);
    for (const s of body.sites) expect(s.response).toBeNull();
  });

  it('refuses a technician (403) and an anonymous caller (401)', async () => {
    const tech = await get(tokens.tess);
    expect(tech.status).toBe(403);
    expect(tech.body.error?.code).toBe('STW_ERR_FORBIDDEN');
    const anon = await get(undefined);
    expect(anon.status).toBe(401);
  });
});
