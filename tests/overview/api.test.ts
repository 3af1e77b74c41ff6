/**
 * GET /api/overview on a real app (SQLite file, ingest, twin, rules, alarms): both demo sites
 * with footfall equal to the footfall summary's (server/history/footfall.ts) for the same
 * instant, occupancy from the twin, open alarms raised the real way (events through ingest →
 * rules), device health; counts arriving after the first answer; scoping (a shop-only user sees
 * the shop only); roles (a technician is refused; an operator gets no response KPI).
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceEvent } from '../../devices/types.ts';
import type { OverviewAnswer, SiteOverview } from '../../protocol/overview.ts';
import { createApp, type App } from '../../server/app.ts';
import { countersOf, footfallSummary } from '../../server/history/footfall.ts';
import { createLogger } from '../../server/observability/logger.ts';
import { siteDays } from '../../server/overview/footfall.ts';
import type { NewEvent } from '../../server/storage/types.ts';
import { eventually, tempDir, testConfig } from '../helpers/app.ts';
import { registerSiteDevices } from '../history/demo-day.ts';

const HOTEL = 'demo-hotel';
const SHOP = 'demo-shop';
const PASSWORD = 'correct horse battery';
const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

let app: App;
let dataDir: string;
let base: string;
const tokens: Record<string, string> = {};

function count(site: string, device: string, zone: string, ms: number, inN: number, outN: number): NewEvent {
  return { site, device, deviceType: 'footfall-counter', zone, type: 'count', seq: null, ts: iso(ms), receivedAt: iso(ms), data: { type: 'count', in: inN, out: outN, period: 60 } };
}

async function get(token: string | undefined): Promise<{ status: number; body: OverviewAnswer & { error?: { code: string } } }> {
  const res = await fetch(`${base}/api/overview`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, body: (await res.json()) as OverviewAnswer & { error?: { code: string } } };
}

const row = (a: OverviewAnswer, site: string) => a.sites.find((s) => s.site === site) as SiteOverview;

async function accept(device: string, events: DeviceEvent[]): Promise<void> {
  const rec = app.storage.registry.getDevice(device);
  if (!rec) throw new Error(`no device ${device}`);
  await app.ingest.acceptEvents(rec, events);
}

beforeAll(async () => {
  dataDir = await tempDir('storetwin-overview-');
  app = await createApp(testConfig(dataDir), { logger: createLogger({ level: 'silent' }) });
  // What the server finds when it starts: both demo sites' devices, and counts of today and of
  // the same weekday last week (in and out at times spread over the days, whatever the hour now).
  for (const site of [HOTEL, SHOP]) registerSiteDevices(app.storage, app.sites.get(site)!);
  const now = Date.now();
  const days = siteDays('Asia/Shanghai', now);
  const sofar = now - days.today.start;
  const history: NewEvent[] = [];
  for (let k = 1; k <= 20; k++) {
    history.push(count(SHOP, 'shop-counter-south', 'entrance-south', days.today.start + Math.floor((sofar * k) / 21), 3, 1));
    history.push(count(SHOP, 'shop-counter-north', 'entrance-north', days.today.start + Math.floor((sofar * k) / 21), 2, 2));
    history.push(count(SHOP, 'shop-counter-south', 'entrance-south', days.weekAgo.start + k * 70 * MIN, 4, 4));
    history.push(count(HOTEL, 'counter-1-entrance', 'entrance', days.weekAgo.start + k * 65 * MIN, 1, 0));
  }
  history.push(count(HOTEL, 'counter-1-entrance', 'entrance', days.today.start + Math.floor(sofar / 2), 5, 0));
  await app.events.append(history);
  base = (await app.listen()).httpUrl;

  for (const [name, role, sites] of [
    ['ada', 'admin', []],
    ['mia', 'manager', []],
    ['olga', 'operator', []],
    ['sho', 'manager', [SHOP]],
    ['tess', 'technician', []],
  ] as const) {
    await app.users.createUser({ username: name, password: PASSWORD, role, sites: [...sites] });
    tokens[name] = (await app.users.login(name, PASSWORD)).token;
  }
  // Live: 7 people into the shop's hall; a door opened in the armed cash room (critical); a
  // low battery heartbeat (minor); tamper on a hotel door (critical); the shop's north door offline.
  await accept('shop-counter-south', [{ type: 'count', in: 7, out: 0, period: 60 }]);
  const armed = await fetch(`${base}/api/sites/${SHOP}/zones/cash-room/arm`, { method: 'POST', headers: { authorization: `Bearer ${tokens.ada}`, 'content-type': 'application/json' }, body: '{}' });
  expect(armed.status).toBe(200);
  await accept('shop-door-cash', [{ type: 'door', state: 'open' }]);
  await accept('shop-door-office', [{ type: 'heartbeat', battery: 2.5 }]);
  const hotelDoor = app.sites.get(HOTEL)!.devices.find((d) => d.type === 'door-sensor')!.id;
  await accept(hotelDoor, [{ type: 'tamper', active: true }]);
  await app.ingest.acceptPlatformStatus(app.storage.registry.getDevice('shop-door-north')!, false);
  await eventually(() => app.alarms.open().length >= 3);
}, 60_000);

afterAll(async () => {
  await app?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
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
    expect(shop.devices.total).toBe(app.sites.get(SHOP)!.devices.length);
    expect(shop.devices.offline).toBe(1);
    expect(shop.devices.lowBattery).toBe(1);
    // Only the devices that have said something are not silent.
    expect(shop.devices.silent).toBe(shop.devices.total - 4);
    expect(shop.occupancy).toEqual({ now: 7, capacity: 60 });
    const hotel = row(body, HOTEL);
    expect(hotel.alarms.bySeverity.critical).toBe(1);
    expect(hotel.alarms.oldestUnacknowledgedAt).not.toBeNull();
    expect(hotel.devices.total).toBe(app.sites.get(HOTEL)!.devices.length);
    // Raised seconds ago and not acknowledged: still within its target, not judged yet.
    expect(hotel.response).toEqual({ alarms: 1, ackWithinTargetShare: null });
  });

  it('follows an acknowledgement: no oldest unacknowledged, the share within target', async () => {
    const [tamper] = app.alarms.open().filter((a) => a.site === HOTEL);
    const acked = await fetch(`${base}/api/alarms/${tamper!.id}/ack`, { method: 'POST', headers: { authorization: `Bearer ${tokens.mia}`, 'content-type': 'application/json' }, body: '{}' });
    expect(acked.status).toBe(200);
    const hotel = row((await get(tokens.mia)).body, HOTEL);
    expect(hotel.alarms).toMatchObject({ open: 1, unacknowledged: 0, oldestUnacknowledgedAt: null });
    expect(hotel.response).toEqual({ alarms: 1, ackWithinTargetShare: 1 });
  });

  it('counts footfall as the footfall summary does, for the same instant', async () => {
    const { body } = await get(tokens.mia);
    const at = Date.parse(body.at);
    for (const siteId of [HOTEL, SHOP]) {
      const site = app.sites.get(siteId)!;
      const summary = await footfallSummary(app.events, site, countersOf(site, app.storage.registry), () => null, at);
      const sum = (key: 'today' | 'lastWeekSameTime' | 'lastWeek') => summary.counters.reduce((t, c) => t + c.totals[key].in, 0);
      const hourly = (key: 'today' | 'lastWeek') => Array.from({ length: 24 }, (_, h) => summary.counters.reduce((t, c) => t + (c[key].in[h] ?? 0), 0));
      const f = row(body, siteId).footfall!;
      expect(f).toEqual({ date: summary.date, compareDate: summary.compareDate, today: sum('today'), lastWeekSameTime: sum('lastWeekSameTime'), lastWeek: sum('lastWeek'), hourly: hourly('today'), lastWeekHourly: hourly('lastWeek') });
    }
    expect(row(body, SHOP).footfall!.today).toBe(20 * 5 + 7);
    expect(row(body, SHOP).footfall!.lastWeek).toBe(20 * 4);
    expect(row(body, HOTEL).footfall!.lastWeek).toBe(20);
  });

  it('adds counts that arrive after an answer, once', async () => {
    const before = row((await get(tokens.mia)).body, SHOP).footfall!.today;
    await accept('shop-counter-north', [{ type: 'count', in: 11, out: 0, period: 60 }]);
    await eventually(async () => row((await get(tokens.mia)).body, SHOP).footfall!.today === before + 11);
    expect(row((await get(tokens.olga)).body, SHOP).footfall!.today).toBe(before + 11);
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
