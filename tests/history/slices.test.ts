/**
 * Long reads in slices (server/storage/yield.ts, server/history/scan.ts): the scans return every
 * event once in (ts, id) order whatever the page size, the event loop runs timers while a
 * history is built, the JSON written as the history folds is the same value as
 * JSON.stringify's, and a history over its event bound is refused. No timing: what is asserted is what ran before what.
 */
import { openSqliteStorage, type SqliteStorage } from '../../server/sqlite-storage.ts';
import { loadedDirectory } from '../helpers/registry.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isStoreTwinError } from '../../server/errors.ts';
import { SqliteAlarmStore } from '../../server/alarms/sqlite-store.ts';
import { buildHistory, buildHistoryJson } from '../../server/history/history.ts';
import { scanEvents, scanSites } from '../../server/history/scan.ts';

import type { NewEvent, StoredEvent } from '../../server/storage/types.ts';
import { EventLoopSlicer } from '../../server/storage/yield.ts';
import { demoSites, HOTEL, SHOP } from '../api/harness.ts';
import { writeBusyEvents } from './busy-month.ts';
import { registerSiteDevices } from './demo-day.ts';

const TO = Date.parse('2026-11-24T04:00:00Z');
const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();
let dir: string;
let storage: SqliteStorage;

async function collect(pages: AsyncGenerator<StoredEvent[]>): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  for await (const page of pages) out.push(...page);
  return out;
}

const byTsId = (a: StoredEvent, b: StoredEvent) => a.ts.localeCompare(b.ts) || a.id - b.id;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'storetwin-slices-'));
  storage = openSqliteStorage(join(dir, 'storetwin.db'));
  const hotel = (await demoSites()).get(HOTEL)!;
  await registerSiteDevices(storage, hotel);
  await writeBusyEvents(hotel, { fromMs: TO - 1.5 * DAY, toMs: TO, append: (b) => storage.events.append(b) });
  // Ties: 50 shop events in one millisecond, and hotel events in the same millisecond.
  const at = iso(TO - DAY);
  const tie = (site: string, device: string, i: number): NewEvent => ({ site, device, deviceType: 'door-sensor', zone: 'z', type: 'heartbeat', seq: i, ts: at, receivedAt: at, data: { type: 'heartbeat', battery: 3, rsrp: -90 } as NewEvent['data'] });
  await storage.events.append(Array.from({ length: 50 }, (_, i) => tie(SHOP, 'door-shop-tie', i)));
  await storage.events.append(Array.from({ length: 20 }, (_, i) => tie(HOTEL, 'door-hotel-tie', i)));
}, 60_000);

afterAll(async () => {
  storage?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('scanning in slices', () => {
  it('returns every event once, in ts order, across pages that split a millisecond', async () => {
    const q = { from: iso(TO - DAY - 60_000), to: iso(TO - DAY + 60_000) };
    // Sites merged by ts; on a tie the site listed first, and within a site the store's own
    // order (SQLite breaks ties by rowid).
    const expected = (
      storage.db.prepare('SELECT id FROM events WHERE ts >= ? AND ts < ? ORDER BY ts, site <> ?, id').all(TO - DAY - 60_000, TO - DAY + 60_000, HOTEL) as Array<{ id: number }>
    ).map((r) => r.id);
    expect(expected.length).toBeGreaterThan(70);
    for (const pageSize of [1, 7, 128]) {
      const shop = await collect(scanEvents(storage.events, { ...q, site: SHOP }, { pageSize }));
      expect(shop.map((e) => e.id)).toHaveLength(50);
      // Several sites merged: every event once, ts order, each site in its own order.
      const merged = await collect(scanSites(storage.events, [HOTEL, SHOP, 'no-such-site'], q, { pageSize }));
      expect(merged.map((e) => e.id)).toEqual(expected);
    }
  });

  it('scans a day and a half (~28k events) identically to the sorted table', async () => {
    const all = await collect(scanEvents(storage.events, { site: HOTEL }));
    expect(all.length).toBeGreaterThan(27_000);
    expect([...all].sort(byTsId).map((e) => e.id)).toEqual(all.map((e) => e.id));
    expect(new Set(all.map((e) => e.id)).size).toBe(all.length);
  });

  it('lets the event loop run timers and I/O while a history is built', async () => {
    const hotel = (await demoSites()).get(HOTEL)!;
    let settled = false;
    const ranWhileBuilding: boolean[] = [];
    const slicer = new EventLoopSlicer();
    const building = buildHistory({ events: storage.events, registry: await loadedDirectory(storage), alarms: new SqliteAlarmStore(storage.db) }, hotel, TO - DAY, TO, { slicer }).finally(() => {
      settled = true;
    });
    // A timer and a check-phase callback, as ingest's group commit and socket reads would be.
    setTimeout(() => ranWhileBuilding.push(!settled), 0);
    setImmediate(() => ranWhileBuilding.push(!settled));
    const history = await building;
    expect(history.changes.length).toBeGreaterThan(1000);
    expect(ranWhileBuilding).toEqual([true, true]);
    expect(slicer.stats().slices).toBeGreaterThan(1);
  });

  it('writes the same JSON value as the history it folds, changes chunk by chunk', async () => {
    const hotel = (await demoSites()).get(HOTEL)!;
    const deps = { events: storage.events, registry: await loadedDirectory(storage), alarms: new SqliteAlarmStore(storage.db) };
    for (const [from, to] of [
      [TO - DAY, TO], // thousands of changes: many chunks
      [TO - 1.5 * DAY - 3 * 3600_000, TO - 1.5 * DAY - 2.5 * 3600_000], // before the first event: none
    ] as const) {
      const history = await buildHistory(deps, hotel, from, to);
      const json = await buildHistoryJson(deps, hotel, from, to);
      expect(JSON.parse(json.toString('utf8'))).toEqual(JSON.parse(JSON.stringify(history)));
    }
    expect((await buildHistory(deps, hotel, TO - DAY, TO)).changes.length).toBeGreaterThan(5000);
  });

  it('refuses a history that would read more than its event bound', async () => {
    const hotel = (await demoSites()).get(HOTEL)!;
    const deps = { events: storage.events, registry: await loadedDirectory(storage), alarms: new SqliteAlarmStore(storage.db) };
    const err = await buildHistory(deps, hotel, TO - DAY, TO, { maxEvents: 1000 }).catch((e: unknown) => e);
    expect(isStoreTwinError(err) && err.code).toBe('STW_ERR_QUERY_TOO_LARGE');
    const fits = await buildHistory(deps, hotel, TO - 3600_000, TO, { maxEvents: 10_000 });
    expect(fits.changes.length).toBeGreaterThan(0);
  });
});
