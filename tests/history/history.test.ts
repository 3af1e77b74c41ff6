/**
 * buildHistory over a real SQLite file: the state at `from` folded from the lookback, every
 * change after it in time order, and — on a simulated stretch of the demo hotel — replaying
 * the changes from any `from` lands exactly on the state a later `from` reports.
 */
import { loadedDirectory } from '../helpers/registry.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteAlarmStore } from '../../server/alarms/sqlite-store.ts';
import { buildHistory, STATE_LOOKBACK_MS, type History, type HistoryDeps } from '../../server/history/history.ts';
import { localDayStart } from '../../server/history/local-time.ts';
import type { Site } from '../../server/sites/model.ts';
import type { NewEvent, RecordedEvent } from '../../server/storage/types.ts';
import { demoSites, HOTEL, SHOP } from '../api/harness.ts';
import { tempStorage } from '../helpers/storage.ts';
import { generateSiteEvents, registerSiteDevices } from './demo-day.ts';

const iso = (ms: number) => new Date(ms).toISOString();
const T0 = Date.parse('2026-11-23T04:00:00Z'); // 12:00 in Shanghai (both demo sites)

function event(site: Site, device: string, ms: number, data: RecordedEvent): NewEvent {
  const p = site.devices.find((d) => d.id === device);
  if (!p) throw new Error(`no device ${device}`);
  return { site: site.id, device, deviceType: p.type, zone: p.zone, type: data.type, seq: null, ts: iso(ms), receivedAt: iso(ms), data };
}

/** Applies the changes up to and including `t` to a copy of the state at `from`. */
function replay(h: History, t: number): History['state'] {
  const state = structuredClone(h.state);
  for (const [at, kind, id, field, value] of h.changes) {
    if (at > t) break;
    const target = kind === 'd' ? (state.devices[id] ??= { online: null, door: null, battery: null, batteryPct: null, rsrp: null, tamper: false, lastSeen: null }) : (state.zones[id] ??= { door: null, occupancy: null });
    (target as Record<string, unknown>)[field] = value;
  }
  return state;
}

describe('buildHistory', () => {
  let temp: Awaited<ReturnType<typeof tempStorage>>;
  let deps: HistoryDeps;
  let hotel: Site;
  let shop: Site;

  beforeAll(async () => {
    temp = await tempStorage('storetwin-history-');
    const sites = await demoSites();
    hotel = sites.get(HOTEL)!;
    shop = sites.get(SHOP)!;
    await registerSiteDevices(temp.storage, hotel);
    await registerSiteDevices(temp.storage, shop);
    deps = { events: temp.storage.events, registry: await loadedDirectory(temp.storage), alarms: new SqliteAlarmStore(temp.storage.db) };
  });
  afterAll(async () => temp?.close());

  it('a door opened before `from` is open at `from`; later changes follow in order', async () => {
    const door = hotel.devices.find((d) => d.type === 'door-sensor')!;
    const other = hotel.devices.filter((d) => d.type === 'door-sensor')[1]!;
    await temp.storage.events.append([
      // Outside the lookback: not part of the state (a heartbeat inside it repeats the door).
      event(hotel, other.id, T0 - STATE_LOOKBACK_MS - 60_000, { type: 'door', state: 'open' }),
      event(hotel, door.id, T0 - 30 * 60_000, { type: 'heartbeat', battery: 3.01, rsrp: -97, door: 'closed' }),
      event(hotel, door.id, T0 - 10 * 60_000, { type: 'door', state: 'open' }),
      event(hotel, door.id, T0 + 5 * 60_000, { type: 'heartbeat', battery: 3.01, rsrp: -99, door: 'open' }),
      event(hotel, door.id, T0 + 20 * 60_000, { type: 'door', state: 'closed' }),
      event(hotel, door.id, T0 + 25 * 60_000, { type: 'tamper', active: true }),
    ]);
    const h = await buildHistory(deps, hotel, T0, T0 + 3600_000);
    expect(h.from).toBe(iso(T0));
    expect(h.state.devices[door.id]).toMatchObject({ door: 'open', online: true, battery: 3.01, rsrp: -97, tamper: false, lastSeen: iso(T0 - 10 * 60_000) });
    expect(h.state.devices[door.id]!.batteryPct).toEqual(expect.any(Number));
    expect(h.state.zones[door.zone]).toEqual({ door: 'open', occupancy: null });
    expect(h.state.devices[other.id]).toMatchObject({ door: null, online: null });
    const mine = h.changes.filter((c) => c[2] === door.id || c[2] === door.zone);
    expect(mine).toEqual([
      [T0 + 5 * 60_000, 'd', door.id, 'rsrp', -99],
      [T0 + 5 * 60_000, 'd', door.id, 'lastSeen', iso(T0 + 5 * 60_000)],
      [T0 + 20 * 60_000, 'd', door.id, 'door', 'closed'],
      [T0 + 20 * 60_000, 'd', door.id, 'lastSeen', iso(T0 + 20 * 60_000)],
      [T0 + 20 * 60_000, 'z', door.zone, 'door', 'closed'],
      [T0 + 25 * 60_000, 'd', door.id, 'tamper', true],
      [T0 + 25 * 60_000, 'd', door.id, 'lastSeen', iso(T0 + 25 * 60_000)],
    ]);
    // An event exactly at `from` is part of the state, not a change; at `to` it is a change.
    const atFrom = await buildHistory(deps, hotel, T0 + 20 * 60_000, T0 + 25 * 60_000);
    expect(atFrom.state.devices[door.id]!.door).toBe('closed');
    expect(atFrom.changes.map((c) => c[0])).toEqual([T0 + 25 * 60_000, T0 + 25 * 60_000]);
  });

  it('occupancy at `from` counts from the local midnight of the site, not before', async () => {
    const counter = shop.devices.find((d) => d.id === 'shop-counter-south')!;
    const midnight = localDayStart(T0, shop.timezone);
    expect(iso(midnight)).toBe('2026-11-22T16:00:00.000Z');
    await temp.storage.events.append([
      event(shop, counter.id, midnight - 60_000, { type: 'count', in: 50, out: 0, period: 60 }),
      event(shop, counter.id, midnight + 3 * 3600_000, { type: 'count', in: 10, out: 2, period: 60 }),
      event(shop, counter.id, T0 - 3600_000, { type: 'count', in: 5, out: 1, period: 60 }),
      event(shop, counter.id, T0 + 60_000, { type: 'count', in: 0, out: 0, period: 60 }),
      event(shop, counter.id, T0 + 120_000, { type: 'count', in: 3, out: 0, period: 60 }),
    ]);
    const h = await buildHistory(deps, shop, T0, T0 + 3600_000);
    expect(h.lookback).toEqual({ state: iso(T0 - STATE_LOOKBACK_MS), occupancy: iso(midnight) });
    expect(h.state.zones['sales-hall']!.occupancy).toBe(12);
    // A count of 0/0 changes nothing; only the real change is listed.
    expect(h.changes.filter((c) => c[1] === 'z')).toEqual([[T0 + 120_000, 'z', 'sales-hall', 'occupancy', 15]]);
    // Shortly after midnight the lookback reaches into yesterday, but occupancy still starts at midnight.
    const early = await buildHistory(deps, shop, midnight + 3600_000, midnight + 4 * 3600_000);
    expect(early.state.zones['sales-hall']!.occupancy).toBeNull();
    expect(early.changes.filter((c) => c[1] === 'z')).toEqual([[midnight + 3 * 3600_000, 'z', 'sales-hall', 'occupancy', 8]]);
  });

  it('replaying the changes of a simulated hotel lands on the state any later `from` reports', async () => {
    const { storage, close } = await tempStorage('storetwin-history-sim-');
    try {
      await registerSiteDevices(storage, hotel);
      const start = Date.parse('2026-11-23T00:00:00Z');
      await generateSiteEvents(storage, hotel, { fromMs: start, toMs: start + 8 * 3600_000, seed: 7 });
      const simDeps: HistoryDeps = { events: storage.events, registry: await loadedDirectory(storage), alarms: new SqliteAlarmStore(storage.db) };
      const from = start + 2.5 * 3600_000;
      const h = await buildHistory(simDeps, hotel, from, start + 8 * 3600_000);
      expect(h.changes.length).toBeGreaterThan(100);
      for (let i = 1; i < h.changes.length; i++) expect(h.changes[i]![0]).toBeGreaterThanOrEqual(h.changes[i - 1]![0]);
      expect(h.changes.some((c) => c[3] === 'door')).toBe(true);
      for (const t of [from + 1800_000, from + 3 * 3600_000, start + 8 * 3600_000]) {
        const later = await buildHistory(simDeps, hotel, t, t);
        // Both fold the 2 h lookback before their `from`; devices quiet longer than that are
        // unknown at the later `from`, so compare what the later one knows.
        const replayed = replay(h, t);
        for (const [id, state] of Object.entries(later.state.devices)) {
          if (state.lastSeen !== null) expect(replayed.devices[id], `${id} at ${iso(t)}`).toEqual(state);
        }
        for (const [id, zone] of Object.entries(later.state.zones)) {
          if (zone.door !== null) expect(replayed.zones[id]!.door, `${id} at ${iso(t)}`).toBe(zone.door);
        }
      }
    } finally {
      await close();
    }
  }, 60_000);
});
