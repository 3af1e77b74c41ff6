/**
 * Footfall over real HTTP and a real SQLite file: sums per step match the stored count events,
 * the zone filter follows the counters' wiring, and the summary compares today's local hours
 * with the same weekday last week beside the twin's occupancy.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { footfallRoutes } from '../../server/api/routes/footfall.ts';
import type { NewEvent } from '../../server/storage/types.ts';
import { registerSiteDevices } from '../history/demo-day.ts';
import { startRoutes, type RoutesHarness } from '../history/harness.ts';
import { fixedState, HOTEL, SHOP } from './harness.ts';

const H = 3600_000;
const iso = (ms: number) => new Date(ms).toISOString();
/** Monday 14:30 in Shanghai. */
const NOW = Date.parse('2026-11-23T06:30:00Z');
const TODAY = Date.parse('2026-11-22T16:00:00Z');
const LAST_WEEK = TODAY - 7 * 24 * H;

const ZONES: Record<string, string> = { 'shop-counter-south': 'entrance-south', 'shop-counter-north': 'entrance-north' };
function count(device: string, ms: number, inN: number, outN: number): NewEvent {
  return { site: SHOP, device, deviceType: 'footfall-counter', zone: ZONES[device]!, type: 'count', seq: null, ts: iso(ms), receivedAt: iso(ms), data: { type: 'count', in: inN, out: outN, period: 60 } };
}

describe('footfall API', () => {
  let h: RoutesHarness;
  const tokens: Record<string, string> = {};
  const events: NewEvent[] = [];

  beforeAll(async () => {
    h = await startRoutes({
      routes: () => [footfallRoutes({ now: () => NOW })],
      twin: { siteState: (site) => (site === SHOP ? fixedState(site) : null), deviceState: () => null },
    });
    await registerSiteDevices(h.storage, h.sites.get(SHOP)!, h.directory);
    await registerSiteDevices(h.storage, h.sites.get(HOTEL)!, h.directory);
    // Today: 09:xx and 10:xx local on both entrances; last week: the same weekday, morning and evening.
    for (let m = 0; m < 120; m += 5) {
      events.push(count('shop-counter-south', TODAY + 9 * H + m * 60_000, 3, 1));
      events.push(count('shop-counter-north', TODAY + 9 * H + m * 60_000 + 30_000, 1, 2));
    }
    events.push(count('shop-counter-south', LAST_WEEK + 10 * H, 7, 0));
    events.push(count('shop-counter-south', LAST_WEEK + 20 * H, 0, 7));
    events.push(count('shop-counter-south', LAST_WEEK - 60_000, 99, 99)); // the day before: not compared
    // Not a count: ignored.
    events.push({ site: SHOP, device: 'shop-counter-south', deviceType: 'footfall-counter', zone: 'entrance-south', type: 'heartbeat', seq: null, ts: iso(TODAY + 9 * H), receivedAt: iso(TODAY + 9 * H), data: { type: 'heartbeat' } });
    await h.storage.events.append(events);
    tokens.manager = await h.userToken('boss', 'manager');
    tokens.technician = await h.userToken('tech', 'technician');
    tokens.shopOnly = await h.userToken('shopkeeper', 'operator', [SHOP]);
    tokens.hotelOnly = await h.userToken('hotelier', 'operator', [HOTEL]);
  });
  afterAll(async () => h?.close());

  const sum = (pred: (e: NewEvent) => boolean) =>
    events.filter((e) => e.data.type === 'count' && pred(e)).reduce((t, e) => (e.data.type === 'count' ? { in: t.in + e.data.in, out: t.out + e.data.out } : t), { in: 0, out: 0 });

  it('sums in/out per step, matching the stored events', async () => {
    const res = await h.request('GET', `/api/footfall?site=${SHOP}&from=${iso(TODAY)}&to=${iso(NOW)}&step=1h`, { token: tokens.manager });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ site: SHOP, zone: null, from: iso(TODAY), to: iso(NOW), step: 3600 });
    expect(res.body.counters).toEqual([
      { device: 'shop-counter-north', zone: 'entrance-north', counts: 'sales-hall' },
      { device: 'shop-counter-south', zone: 'entrance-south', counts: 'sales-hall' },
    ]);
    expect(res.body.buckets).toHaveLength(15); // 14.5 h → 15 steps, the last one partial
    const inWindow = (e: NewEvent) => Date.parse(e.ts) >= TODAY && Date.parse(e.ts) < NOW;
    expect(res.body.total).toEqual(sum(inWindow));
    expect(res.body.buckets[9]).toEqual({ from: iso(TODAY + 9 * H), ...sum((e) => Date.parse(e.ts) >= TODAY + 9 * H && Date.parse(e.ts) < TODAY + 10 * H) });
    expect(res.body.buckets[8]).toEqual({ from: iso(TODAY + 8 * H), in: 0, out: 0 });
    const perStep = res.body.buckets.reduce((t: { in: number; out: number }, b: { in: number; out: number }) => ({ in: t.in + b.in, out: t.out + b.out }), { in: 0, out: 0 });
    expect(perStep).toEqual(res.body.total);
  });

  it('filters by the hall counted into or the counter’s own zone', async () => {
    const q = `from=${iso(TODAY)}&to=${iso(NOW)}&step=1d`;
    const hall = await h.request('GET', `/api/footfall?site=${SHOP}&zone=sales-hall&${q}`, { token: tokens.manager });
    expect(hall.body.counters).toHaveLength(2);
    const south = await h.request('GET', `/api/footfall?site=${SHOP}&zone=entrance-south&${q}`, { token: tokens.manager });
    expect(south.body.counters.map((c: { device: string }) => c.device)).toEqual(['shop-counter-south']);
    expect(south.body.total).toEqual(sum((e) => e.device === 'shop-counter-south' && Date.parse(e.ts) >= TODAY && Date.parse(e.ts) < NOW));
    const office = await h.request('GET', `/api/footfall?site=${SHOP}&zone=back-office&${q}`, { token: tokens.manager });
    expect(office.status).toBe(200);
    expect(office.body.counters).toEqual([]);
    expect(office.body.total).toEqual({ in: 0, out: 0 });
    const unknown = await h.request('GET', `/api/footfall?site=${SHOP}&zone=nowhere&${q}`, { token: tokens.manager });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('STW_ERR_ZONE_NOT_FOUND');
  });

  it('defaults to the last 24 h in 1 h steps, and to the only site of a restricted user', async () => {
    const res = await h.request('GET', '/api/footfall', { token: tokens.shopOnly });
    expect(res.status).toBe(200);
    expect(res.body.site).toBe(SHOP);
    expect(res.body.step).toBe(3600);
    expect(res.body.to).toBe(iso(NOW + H / 2));
    expect(res.body.buckets).toHaveLength(24);
    expect(res.body.total).toEqual(sum((e) => Date.parse(e.ts) >= NOW + H / 2 - 24 * H && Date.parse(e.ts) < NOW + H / 2));
  });

  it('validates, checks the role and scopes to visible sites', async () => {
    for (const q of [`site=${SHOP}&step=30s`, `site=${SHOP}&step=1w`, `site=${SHOP}&step=1m&from=${iso(NOW - 3 * 24 * H)}&to=${iso(NOW)}`, `site=${SHOP}&from=${iso(NOW)}&to=${iso(NOW - H)}`, '', `site=${SHOP}&bogus=1`]) {
      const res = await h.request('GET', `/api/footfall?${q}`, { token: tokens.manager });
      expect(res.status, q).toBe(400);
      expect(res.body.error.code).toBe('STW_ERR_VALIDATION');
    }
    expect((await h.request('GET', `/api/footfall?site=${SHOP}`, { token: tokens.technician })).status).toBe(403);
    expect((await h.request('GET', `/api/footfall?site=${SHOP}`, { token: tokens.hotelOnly })).status).toBe(404);
    expect((await h.request('GET', '/api/footfall?site=nowhere', { token: tokens.manager })).status).toBe(404);
    expect((await h.request('GET', `/api/sites/${SHOP}/footfall/summary`, { token: tokens.hotelOnly })).status).toBe(404);
    expect((await h.request('GET', `/api/sites/${SHOP}/footfall/summary`, { token: tokens.technician })).status).toBe(403);
  });

  it('summarises today by local hour against the same weekday last week, with occupancy', async () => {
    const res = await h.request('GET', `/api/sites/${SHOP}/footfall/summary`, { token: tokens.manager });
    expect(res.status).toBe(200);
    const body = res.body;
    expect(body).toMatchObject({ site: SHOP, timezone: 'Asia/Shanghai', date: '2026-11-23', compareDate: '2026-11-16', at: iso(NOW) });
    const south = body.counters.find((c: { device: string }) => c.device === 'shop-counter-south');
    expect(south.today.in).toHaveLength(24);
    expect(south.today.in[9]).toBe(36);
    expect(south.today.out[9]).toBe(12);
    expect(south.today.in[10]).toBe(36);
    expect(south.totals.today).toEqual({ in: 72, out: 24 });
    expect(south.lastWeek.in[10]).toBe(7);
    expect(south.lastWeek.out[20]).toBe(7);
    expect(south.totals.lastWeek).toEqual({ in: 7, out: 7 });
    // Up to 14:30 last Monday: the morning's 7 in, not the evening's 7 out.
    expect(south.totals.lastWeekSameTime).toEqual({ in: 7, out: 0 });
    expect(body.halls).toHaveLength(1);
    const hall = body.halls[0];
    expect(hall).toMatchObject({ zone: 'sales-hall', capacity: expect.any(Number), occupancy: 12, counters: ['shop-counter-north', 'shop-counter-south'] });
    expect(hall.totals.today).toEqual({ in: 72 + 24, out: 24 + 48 });
    expect(hall.today.in[9]).toBe(36 + 12);
  });

  it('answers a site without counters with empty lists', async () => {
    const hotel = await h.request('GET', `/api/sites/${HOTEL}/footfall/summary`, { token: tokens.manager });
    expect(hotel.status).toBe(200);
    expect(hotel.body.counters.map((c: { device: string; counts: string }) => [c.device, c.counts])).toEqual([['counter-1-entrance', 'lobby']]);
    expect(hotel.body.halls[0]).toMatchObject({ zone: 'lobby', occupancy: null });
  });
});
