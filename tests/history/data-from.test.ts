/**
 * Where a replay's data begins (History.dataFrom): the first event the history was folded from,
 * lookback and the early counts included, or null when it read none. The dashboard hatches the
 * window before it as "no data" instead of showing an unknown twin as a quiet one.
 */
import { loadedDirectory } from '../helpers/registry.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteAlarmStore } from '../../server/alarms/sqlite-store.ts';
import { buildHistory, buildHistoryJson, type HistoryDeps } from '../../server/history/history.ts';
import { localDayStart } from '../../server/history/local-time.ts';
import type { Site } from '../../server/sites/model.ts';
import type { NewEvent, RecordedEvent } from '../../server/storage/types.ts';
import { demoSites, SHOP } from '../api/harness.ts';
import { tempStorage } from '../helpers/storage.ts';
import { registerSiteDevices } from './demo-day.ts';

const iso = (ms: number) => new Date(ms).toISOString();
const H = 3_600_000;
const T0 = Date.parse('2026-11-23T04:00:00Z'); // 12:00 in Shanghai

function event(site: Site, device: string, ms: number, data: RecordedEvent): NewEvent {
  const p = site.devices.find((d) => d.id === device)!;
  return { site: site.id, device, deviceType: p.type, zone: p.zone, type: data.type, seq: null, ts: iso(ms), receivedAt: iso(ms), data };
}

describe('history dataFrom', () => {
  let temp: Awaited<ReturnType<typeof tempStorage>>;
  let deps: HistoryDeps;
  let shop: Site;

  beforeAll(async () => {
    temp = await tempStorage('storetwin-datafrom-');
    shop = (await demoSites()).get(SHOP)!;
    // Registered: the early counts are read counter by counter from the registry.
    await registerSiteDevices(temp.storage, shop);
    deps = { events: temp.storage.events, registry: await loadedDirectory(temp.storage), alarms: new SqliteAlarmStore(temp.storage.db) };
  });
  afterAll(async () => temp?.close());

  it('is null while nothing was recorded, then the first event of the window', async () => {
    expect((await buildHistory(deps, shop, T0, T0 + H)).dataFrom).toBeNull();
    await temp.storage.events.append([event(shop, 'shop-door-south', T0 + 30 * 60_000, { type: 'door', state: 'open' }), event(shop, 'shop-door-south', T0 + 40 * 60_000, { type: 'door', state: 'closed' })]);
    expect((await buildHistory(deps, shop, T0, T0 + H)).dataFrom).toBe(iso(T0 + 30 * 60_000));
    // The route's JSON says the same.
    const json = JSON.parse((await buildHistoryJson(deps, shop, T0, T0 + H)).toString('utf8')) as { dataFrom: string | null };
    expect(json.dataFrom).toBe(iso(T0 + 30 * 60_000));
    // A window that ends before it: no data at all.
    expect((await buildHistory(deps, shop, T0 - 5 * H, T0 - 4 * H)).dataFrom).toBeNull();
  });

  it('reaches back into the lookback and to the counts since local midnight', async () => {
    await temp.storage.events.append([event(shop, 'shop-door-north', T0 - H, { type: 'door', state: 'closed' })]);
    expect((await buildHistory(deps, shop, T0, T0 + H)).dataFrom).toBe(iso(T0 - H));
    const early = localDayStart(T0, shop.timezone) + 2 * H;
    await temp.storage.events.append([event(shop, 'shop-counter-south', early, { type: 'count', in: 3, out: 1, period: 60 })]);
    expect((await buildHistory(deps, shop, T0, T0 + H)).dataFrom).toBe(iso(early));
  });
});
