import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewEvent } from '../../server/storage/types.ts';
import { HOTEL, SHOP, startApi, type Harness } from './harness.ts';

function event(site: string, device: string, i: number): NewEvent {
  const ts = new Date(Date.UTC(2026, 10, 23, 2, 0, i)).toISOString();
  return {
    site,
    device,
    deviceType: 'door-sensor',
    zone: site === SHOP ? 'cash-room' : 'lobby',
    type: 'door',
    seq: i,
    ts,
    receivedAt: ts,
    data: { type: 'door', state: i % 2 === 0 ? 'open' : 'closed', seq: i },
  };
}

describe('events API', () => {
  let api: Harness;
  let operator: string;
  let shopOnly: string;
  let twoSites: string;

  beforeAll(async () => {
    api = await startApi();
    [operator, shopOnly, twoSites] = await Promise.all([
      api.userToken('op', 'operator'),
      api.userToken('shop-op', 'operator', [SHOP]),
      api.userToken('both', 'operator', [SHOP, HOTEL]),
    ]);
    const events: NewEvent[] = [];
    for (let i = 0; i < 25; i++) events.push(event(SHOP, 'shop-door-cash', i));
    for (let i = 0; i < 5; i++) events.push(event(HOTEL, 'hotel-door', i));
    await api.storage.events.append(events);
  });
  afterAll(() => api.close());

  it('pages through events with the cursor, newest first by default', async () => {
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const qs = new URLSearchParams({ site: SHOP, limit: '10' });
      if (cursor) qs.set('cursor', cursor);
      const res = await api.request('GET', `/api/events?${qs}`, { token: operator });
      expect(res.status).toBe(200);
      seen.push(...res.body.items.map((e: { seq: number }) => e.seq));
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual([...Array(25).keys()].reverse());
  });

  it('filters by device, time range and order', async () => {
    const qs = new URLSearchParams({
      device: 'shop-door-cash',
      from: '2026-11-23T02:00:05Z',
      to: '2026-11-23T02:00:08Z',
      order: 'asc',
    });
    const res = await api.request('GET', `/api/events?${qs}`, { token: operator });
    expect(res.status).toBe(200);
    expect(res.body.items.map((e: { seq: number }) => e.seq)).toEqual([5, 6, 7]);
    expect(res.body.items[0]).toMatchObject({ site: SHOP, type: 'door', data: { type: 'door', state: 'closed' } });
    expect(res.body.nextCursor).toBeNull();
  });

  it('validates the query', async () => {
    for (const qs of ['from=yesterday', 'to=2026-13-01T00:00:00Z', 'limit=0', 'limit=1001', 'order=sideways', 'from=2026-11-24T00:00:00Z&to=2026-11-23T00:00:00Z', 'colour=red']) {
      const res = await api.request('GET', `/api/events?${qs}`, { token: operator });
      expect(res.status, qs).toBe(400);
      expect(res.body.error.code).toBe('STW_ERR_VALIDATION');
      expect(Array.isArray(res.body.error.detail)).toBe(true);
    }
    const cursor = await api.request('GET', '/api/events?cursor=garbage', { token: operator });
    expect(cursor.status).toBe(400);
  });

  it('narrows restricted users to their sites', async () => {
    const mine = await api.request('GET', '/api/events?limit=1000', { token: shopOnly });
    expect(mine.body.items).toHaveLength(25);
    expect(new Set(mine.body.items.map((e: { site: string }) => e.site))).toEqual(new Set([SHOP]));
    // Filtering by another site's device cannot reach its events.
    const other = await api.request('GET', '/api/events?device=hotel-door', { token: shopOnly });
    expect(other.body.items).toEqual([]);

    const ambiguous = await api.request('GET', '/api/events', { token: twoSites });
    expect(ambiguous.status).toBe(400);
    expect(ambiguous.body.error.detail[0].path).toEqual(['site']);
    const hotel = await api.request('GET', `/api/events?site=${HOTEL}`, { token: twoSites });
    expect(hotel.body.items).toHaveLength(5);
  });
});
