/**
 * The EventStore contract: what every implementation (SQLite, InfluxDB) must do. An
 * implementation's test file calls eventStoreContract() with a factory that returns a fresh,
 * empty store; every test gets its own store, so tests never see each other's rows.
 *
 * What it does not assume: ids that grow with insertion, or any particular order among events
 * with the same ts (the tie-breaker is the store's business; InfluxDB has no row ids). It
 * asserts what the interface promises instead: unique ids, ts order, `desc` = `asc` reversed,
 * pages that visit every row once even under concurrent inserts, equal rows never overwritten.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventQuery, EventStore, NewEvent, StoredEvent } from '../../server/storage/types.ts';

export type MakeEventStore = () => Promise<{ store: EventStore; cleanup: () => Promise<void> }>;

const T0 = Date.parse('2026-11-23T02:14:07.000Z');

/** ISO time `seconds` after T0, with milliseconds as stores return it. */
function at(seconds: number): string {
  return new Date(T0 + Math.round(seconds * 1000)).toISOString();
}

function ev(overrides: Partial<NewEvent> = {}): NewEvent {
  return {
    site: 'site-a',
    device: 'dev-1',
    deviceType: 'door-nb',
    zone: 'back-door',
    type: 'door',
    seq: null,
    ts: at(0),
    receivedAt: at(0),
    data: { type: 'door', state: 'open' },
    ...overrides,
  };
}

function withoutId(e: StoredEvent): NewEvent {
  const { id: _id, ...rest } = e;
  return rest;
}

/** Follows nextCursor to the end; fails on an empty page or a runaway loop. */
async function walk(store: EventStore, q: Omit<EventQuery, 'cursor'>): Promise<{ items: StoredEvent[]; pages: number }> {
  const items: StoredEvent[] = [];
  let cursor: string | undefined;
  let pages = 0;
  for (;;) {
    const page = await store.query({ ...q, ...(cursor === undefined ? {} : { cursor }) });
    pages++;
    if (pages > 10_000) throw new Error('pagination does not end');
    if (cursor !== undefined) expect(page.items.length, 'a page after a cursor is never empty').toBeGreaterThan(0);
    expect(page.items.length).toBeLessThanOrEqual(q.limit);
    items.push(...page.items);
    if (page.nextCursor === null) return { items, pages };
    expect(page.items.length, 'only the last page is short').toBe(q.limit);
    cursor = page.nextCursor;
  }
}

function tsMs(e: StoredEvent): number {
  return Date.parse(e.ts);
}

/** True when `items` are in ts order for `order` (equal ts in any order). */
function inTsOrder(items: readonly StoredEvent[], order: 'asc' | 'desc'): boolean {
  return items.every((e, i) => i === 0 || (order === 'asc' ? tsMs(items[i - 1] as StoredEvent) <= tsMs(e) : tsMs(items[i - 1] as StoredEvent) >= tsMs(e)));
}

function expectUniqueSafeIds(items: readonly StoredEvent[]): void {
  for (const e of items) expect(Number.isSafeInteger(e.id), `id ${e.id} is a safe integer`).toBe(true);
  expect(new Set(items.map((e) => e.id)).size).toBe(items.length);
}

export function eventStoreContract(name: string, make: MakeEventStore): void {
  describe(`EventStore contract: ${name}`, () => {
    let store: EventStore;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, cleanup } = await make());
      await store.start();
    });

    afterEach(async () => {
      await store.stop();
      await cleanup();
    });

    describe('append and query', () => {
      it('round-trips every field', async () => {
        const e = ev({
          site: 'site-b',
          device: 'dev-42',
          deviceType: 'nb-door-v2',
          zone: 'cash-room',
          type: 'heartbeat',
          seq: 42,
          ts: '2026-11-23T02:14:07.123Z',
          receivedAt: '2026-11-23T02:14:08.456Z',
          data: {
            type: 'heartbeat',
            battery: 3.61,
            rsrp: -97,
            snr: 4.5,
            door: 'closed',
            cellId: 123456,
            pci: 12,
            ecl: 1,
            csq: 20,
            seq: 42,
            ts: '2026-11-23T02:14:07.123Z',
          },
        });
        await store.append([e]);
        const page = await store.query({ limit: 10 });
        expect(page.nextCursor).toBeNull();
        expect(page.items).toHaveLength(1);
        const [got] = page.items as [StoredEvent];
        expect(typeof got.id).toBe('number');
        expect(withoutId(got)).toEqual(e);
      });

      it('keeps seq null and seq 0 apart', async () => {
        await store.append([ev({ device: 'a', seq: null }), ev({ device: 'b', seq: 0 })]);
        const { items } = await store.query({ limit: 10, order: 'asc' });
        // Same ts: in the store's order, so compared by device.
        expect(items.map((e) => [e.device, e.seq]).sort()).toEqual([
          ['a', null],
          ['b', 0],
        ]);
      });

      it('returns times as UTC ISO 8601 with milliseconds', async () => {
        await store.append([ev({ ts: '2026-11-23T02:14:07Z', receivedAt: '2026-11-23T10:14:08.5+08:00' })]);
        const [got] = (await store.query({ limit: 1 })).items;
        expect(got?.ts).toBe('2026-11-23T02:14:07.000Z');
        expect(got?.receivedAt).toBe('2026-11-23T02:14:08.500Z');
      });

      it('assigns unique safe-integer ids, across batches', async () => {
        await store.append([ev({ device: 'a' }), ev({ device: 'b' })]);
        await store.append([ev({ device: 'c' })]);
        const { items } = await store.query({ limit: 10, order: 'asc' });
        expect(items.map((e) => e.device).sort()).toEqual(['a', 'b', 'c']);
        expectUniqueSafeIds(items);
      });

      it('never overwrites an event with an equal one: same device, ts to the ms, content', async () => {
        const same = ev({ device: 'twin', ts: '2026-11-23T02:14:07.123Z', receivedAt: '2026-11-23T02:14:07.123Z' });
        await store.append(Array.from({ length: 25 }, () => same));
        await store.append([same, same]);
        const { items } = await store.query({ limit: 100 });
        expect(items).toHaveLength(27);
        expectUniqueSafeIds(items);
        for (const e of items) expect(withoutId(e)).toEqual(same);
      });

      it('accepts an empty batch and an empty store answers an empty last page', async () => {
        await expect(store.append([])).resolves.toBeUndefined();
        expect(await store.query({ limit: 10 })).toEqual({ items: [], nextCursor: null });
        await store.append([ev()]);
        await store.append([]);
        expect((await store.query({ limit: 10 })).items).toHaveLength(1);
      });

      it('stores a batch all or nothing', async () => {
        await expect(store.append([ev({ device: 'good' }), ev({ device: 'bad', ts: 'not a time' })])).rejects.toThrow();
        expect((await store.query({ limit: 10 })).items).toEqual([]);
      });

      it('keeps unicode and awkward characters in data intact', async () => {
        const label = '前门 🚪 «entrée» Кухня "quoted" \'single\' back\\slash\nnew line\ttab \u0000 nul \u200b zwsp ﷽';
        const e = ev({ type: 'motion', data: { type: 'motion', zone: 'área 2 – 入口', label, confidence: 0.5 } });
        await store.append([e]);
        const [got] = (await store.query({ limit: 1 })).items;
        expect(got === undefined ? undefined : withoutId(got)).toEqual(e);
      });

      it('stores a 5,000-event batch', async () => {
        const batch = Array.from({ length: 5000 }, (_, i) =>
          ev({ device: `dev-${i % 250}`, seq: i, ts: at(i / 10), receivedAt: at(i / 10), data: { type: 'door', state: i % 2 === 0 ? 'open' : 'closed', seq: i } }),
        );
        await store.append(batch);
        const { items, pages } = await walk(store, { limit: 1000, order: 'asc' });
        expect(pages).toBe(5);
        expect(items).toHaveLength(5000);
        expect(new Set(items.map((e) => e.id)).size).toBe(5000);
        expect(items.map((e) => e.seq)).toEqual(batch.map((e) => e.seq));
      });
    });

    describe('time range', () => {
      beforeEach(async () => {
        await store.append([0, 1, 2, 3].map((s) => ev({ seq: s, ts: at(s), receivedAt: at(s) })));
      });

      const seqs = async (q: Omit<EventQuery, 'limit'>): Promise<Array<number | null>> =>
        (await store.query({ limit: 100, order: 'asc', ...q })).items.map((e) => e.seq);

      it('includes `from` and excludes `to`', async () => {
        expect(await seqs({ from: at(1), to: at(3) })).toEqual([1, 2]);
      });

      it('takes either bound alone', async () => {
        expect(await seqs({ from: at(2) })).toEqual([2, 3]);
        expect(await seqs({ to: at(2) })).toEqual([0, 1]);
      });

      it('is empty when from = to', async () => {
        expect(await seqs({ from: at(1), to: at(1) })).toEqual([]);
      });

      it('compares to the millisecond', async () => {
        expect(await seqs({ from: at(1.001), to: at(3.001) })).toEqual([2, 3]);
        expect(await seqs({ from: at(0.999), to: at(0.999) })).toEqual([]);
      });

      it('compares instants, whatever the offset the bounds are written with', async () => {
        // at(1) is 02:14:08Z = 10:14:08+08:00.
        expect(await seqs({ from: '2026-11-23T10:14:08+08:00', to: '2026-11-23T10:14:10.000+08:00' })).toEqual([1, 2]);
      });

      it('refuses a bound that is not an ISO 8601 time', async () => {
        await expect(store.query({ limit: 10, from: 'yesterday' })).rejects.toMatchObject({ code: 'STW_ERR_VALIDATION' });
      });
    });

    describe('filters', () => {
      const all: NewEvent[] = [];
      for (const site of ['site-a', 'site-b']) {
        for (const device of ['d1', 'd2']) {
          for (const type of ['door', 'heartbeat']) {
            for (let i = 0; i < 3; i++) {
              all.push(ev({ site, device: `${site}/${device}`, zone: device === 'd1' ? 'front' : 'back', type, seq: all.length, ts: at(all.length) }));
            }
          }
        }
      }

      beforeEach(async () => {
        await store.append(all);
      });

      const cases: Array<[string, Partial<Pick<EventQuery, 'site' | 'device' | 'zone' | 'type'>>]> = [
        ['site', { site: 'site-b' }],
        ['device', { device: 'site-a/d2' }],
        ['zone', { zone: 'front' }],
        ['type', { type: 'heartbeat' }],
        ['site + zone + type', { site: 'site-a', zone: 'back', type: 'door' }],
        ['device + type', { device: 'site-b/d1', type: 'door' }],
        ['no match', { site: 'site-z' }],
        ['device of another site', { site: 'site-a', device: 'site-b/d1' }],
      ];
      for (const [label, filter] of cases) {
        it(`filters by ${label}`, async () => {
          const expected = all
            .filter((e) => Object.entries(filter).every(([k, v]) => e[k as keyof NewEvent] === v))
            .map((e) => e.seq);
          const got = (await store.query({ limit: 1000, order: 'asc', ...filter })).items.map((e) => e.seq);
          expect(got).toEqual(expected);
        });
      }

      it('combines filters with a time range', async () => {
        const got = await store.query({ limit: 1000, order: 'asc', site: 'site-a', type: 'door', from: at(1), to: at(7) });
        expect(got.items.map((e) => e.seq)).toEqual([1, 2, 6]);
      });
    });

    describe('ordering', () => {
      it('is newest first by default, oldest first with asc, by ts not insertion', async () => {
        await store.append([ev({ seq: 2, ts: at(2) }), ev({ seq: 0, ts: at(0) }), ev({ seq: 3, ts: at(3) }), ev({ seq: 1, ts: at(1) })]);
        expect((await store.query({ limit: 10 })).items.map((e) => e.seq)).toEqual([3, 2, 1, 0]);
        expect((await store.query({ limit: 10, order: 'desc' })).items.map((e) => e.seq)).toEqual([3, 2, 1, 0]);
        expect((await store.query({ limit: 10, order: 'asc' })).items.map((e) => e.seq)).toEqual([0, 1, 2, 3]);
      });

      it('orders ts ties the same way every time: desc is exactly asc reversed', async () => {
        await store.append(Array.from({ length: 12 }, (_, i) => ev({ seq: i, ts: at(i % 3) })));
        await store.append(Array.from({ length: 6 }, (_, i) => ev({ seq: 12 + i, ts: at(i % 3) })));
        const asc = (await store.query({ limit: 100, order: 'asc' })).items;
        const desc = (await store.query({ limit: 100, order: 'desc' })).items;
        expect(inTsOrder(asc, 'asc')).toBe(true);
        expect(desc.map((e) => e.id)).toEqual(asc.map((e) => e.id).reverse());
        expect((await store.query({ limit: 100, order: 'asc' })).items.map((e) => e.id)).toEqual(asc.map((e) => e.id));
        // Same ts: every one of them, in the store's order.
        expect(asc.filter((e) => e.ts === at(0)).map((e) => e.seq).sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual([0, 3, 6, 9, 12, 15]);
      });

      it('returns the newest rows when limited, not the first inserted', async () => {
        await store.append(Array.from({ length: 10 }, (_, i) => ev({ seq: i, ts: at(i) })));
        expect((await store.query({ limit: 3 })).items.map((e) => e.seq)).toEqual([9, 8, 7]);
        expect((await store.query({ limit: 3, order: 'asc' })).items.map((e) => e.seq)).toEqual([0, 1, 2]);
      });
    });

    describe('pagination', () => {
      // 47 rows over only 5 distinct timestamps: pages must split runs of equal ts.
      const rows = Array.from({ length: 47 }, (_, i) => ev({ device: `dev-${i % 3}`, seq: i, ts: at((i * 7) % 5) }));

      for (const order of ['asc', 'desc'] as const) {
        for (const limit of [1, 2, 3, 7, 10, 47, 1000]) {
          it(`walks every row exactly once (${order}, limit ${limit}) even when rows share a ts`, async () => {
            await store.append(rows);
            const whole = (await store.query({ limit: 1000, order })).items;
            expect(whole).toHaveLength(47);
            expect(inTsOrder(whole, order)).toBe(true);
            const { items, pages } = await walk(store, { limit, order });
            expect(items.map((e) => e.id)).toEqual(whole.map((e) => e.id));
            expectUniqueSafeIds(items);
            expect(pages).toBe(Math.ceil(47 / limit));
          });
        }
      }

      it('says null on a last page that is exactly full', async () => {
        await store.append(Array.from({ length: 10 }, (_, i) => ev({ seq: i, ts: at(i) })));
        const first = await store.query({ limit: 5 });
        expect(first.nextCursor).not.toBeNull();
        const second = await store.query({ limit: 5, cursor: first.nextCursor ?? undefined });
        expect(second.items.map((e) => e.seq)).toEqual([4, 3, 2, 1, 0]);
        expect(second.nextCursor).toBeNull();
      });

      it('pages within filters and a time range', async () => {
        await store.append(rows);
        const q = { limit: 2, device: 'dev-1', from: at(1), to: at(4), order: 'asc' as const };
        const whole = (await store.query({ ...q, limit: 1000 })).items;
        expect(whole.length).toBeGreaterThan(4);
        expect((await walk(store, q)).items.map((e) => e.id)).toEqual(whole.map((e) => e.id));
      });

      for (const order of ['asc', 'desc'] as const) {
        it(`is stable under concurrent inserts (${order})`, async () => {
          const original = Array.from({ length: 30 }, (_, i) => ev({ seq: i, ts: at(10 + (i % 3)) }));
          await store.append(original);
          const seen: StoredEvent[] = [];
          let page = await store.query({ limit: 4, order });
          seen.push(...page.items);
          let round = 0;
          while (page.nextCursor !== null) {
            // Between pages, rows land before, at and after the page boundary's ts.
            const boundary = page.items[page.items.length - 1] as StoredEvent;
            const b = (Date.parse(boundary.ts) - T0) / 1000;
            await store.append([
              ev({ seq: 1000 + round * 3, ts: at(b) }),
              ev({ seq: 1001 + round * 3, ts: at(b - 5) }),
              ev({ seq: 1002 + round * 3, ts: at(b + 5) }),
            ]);
            round++;
            page = await store.query({ limit: 4, order, cursor: page.nextCursor });
            seen.push(...page.items);
            if (round > 100) throw new Error('pagination does not end');
          }
          // Every original row exactly once, none twice, and the walk never went back in ts.
          const seenSeqs = seen.map((e) => e.seq);
          expect(new Set(seen.map((e) => e.id)).size).toBe(seen.length);
          for (const o of original) expect(seenSeqs.filter((s) => s === o.seq)).toHaveLength(1);
          expect(inTsOrder(seen, order)).toBe(true);
          // What was walked is in the store's order: as a fresh query lists the same rows.
          const fresh = (await store.query({ limit: 1000, order })).items.map((e) => e.id);
          const seenIds = new Set(seen.map((e) => e.id));
          expect(seen.map((e) => e.id)).toEqual(fresh.filter((id) => seenIds.has(id)));
        });
      }

      it('refuses a limit outside 1..1000', async () => {
        for (const limit of [0, -1, 1001, 2.5, Number.NaN]) {
          await expect(store.query({ limit })).rejects.toMatchObject({ code: 'STW_ERR_VALIDATION' });
        }
      });

      it('refuses a cursor it did not issue', async () => {
        for (const cursor of ['', 'garbage!', Buffer.from('x:y').toString('base64url')]) {
          await expect(store.query({ limit: 10, cursor })).rejects.toMatchObject({ code: 'STW_ERR_VALIDATION' });
        }
      });
    });

    describe('recentSeqs', () => {
      it('returns (device, seq) received at or after `since`, oldest first, skipping events without seq', async () => {
        await store.append([
          ev({ device: 'a', seq: 1, receivedAt: at(1) }),
          ev({ device: 'b', seq: 7, receivedAt: at(2) }),
          ev({ device: 'a', seq: null, receivedAt: at(3) }),
          ev({ device: 'a', seq: 2, receivedAt: at(4) }),
        ]);
        // Inserted last but received earlier: order is by receivedAt, not insertion.
        await store.append([ev({ device: 'c', seq: 0, receivedAt: at(2.5) })]);
        expect(await store.recentSeqs(at(2))).toEqual([
          { device: 'b', seq: 7, receivedAt: at(2) },
          { device: 'c', seq: 0, receivedAt: at(2.5) },
          { device: 'a', seq: 2, receivedAt: at(4) },
        ]);
      });

      it('compares receivedAt, not ts', async () => {
        await store.append([ev({ device: 'a', seq: 5, ts: at(100), receivedAt: at(1) }), ev({ device: 'a', seq: 6, ts: at(0), receivedAt: at(5) })]);
        expect((await store.recentSeqs(at(3))).map((r) => r.seq)).toEqual([6]);
      });

      it('is empty on an empty store and after the newest event', async () => {
        expect(await store.recentSeqs(at(0))).toEqual([]);
        await store.append([ev({ seq: 1, receivedAt: at(1) })]);
        expect(await store.recentSeqs(at(1.001))).toEqual([]);
      });
    });
  });
}
