/**
 * The twin as one worker of several, two twins on one store as two workers would share one
 * PostgreSQL: a site handed over carries everything its last holder saw (even what changed
 * after the last periodic write), and a worker answers for the sites others hold from what
 * their holders wrote — without announcing those as changes of its own.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../server/events.ts';
import type { DeviceService } from '../../server/registry/devices.ts';
import type { DeviceDirectory } from '../../server/registry/directory.ts';
import { openSqliteStorage, type SqliteStorage } from '../../server/sqlite-storage.ts';
import type { NewEvent, RecordedEvent } from '../../server/storage/types.ts';
import { Twin } from '../../server/twin/twin.ts';
import { eventually, tempDir } from '../helpers/app.ts';
import { HeldSites } from '../helpers/held-sites.ts';
import { registryServices } from '../helpers/registry.ts';
import { demoSites, logger } from '../rules/setup.ts';

const HOTEL = 'demo-hotel';
const SHOP = 'demo-shop';

let dir: string;
let storage: SqliteStorage;
let directory: DeviceDirectory;
let devices: DeviceService;
const twins: Twin[] = [];

interface Worker {
  twin: Twin;
  owner: HeldSites;
  bus: EventBus;
  /** Device ids this worker's twin announced a change of. */
  announced: string[];
}

async function worker(held: string[], timing: { persistEveryMs?: number; mirrorEveryMs?: number } = {}): Promise<Worker> {
  const bus = new EventBus();
  const owner = new HeldSites(...held);
  const twin = new Twin({ sites: await demoSites(), registry: directory, store: storage.snapshots, settings: storage.settings, bus, logger, owner, ...timing });
  const announced: string[] = [];
  bus.on('twin.device', (c) => announced.push(c.state.id));
  await twin.start();
  twins.push(twin);
  return { twin, owner, bus, announced };
}

function send(w: Worker, device: string, data: RecordedEvent): void {
  const rec = directory.getDevice(device)!;
  const ts = new Date().toISOString();
  const e: NewEvent = { site: rec.site, device, deviceType: rec.type, zone: rec.zone, type: data.type, seq: null, ts, receivedAt: ts, data };
  w.bus.emit('events.accepted', [e]);
}

beforeEach(async () => {
  dir = await tempDir('storetwin-twin-owner-');
  storage = openSqliteStorage(join(dir, 'storetwin.db'));
  ({ directory, devices } = await registryServices(storage, { sites: await demoSites() }));
  await devices.register({ id: 'door-3-05', site: HOTEL, type: 'door-sensor', zone: '3-05' });
  await devices.register({ id: 'shop-door-south', site: SHOP, type: 'door-sensor', zone: 'entrance-south' });
});

afterEach(async () => {
  for (const t of twins.splice(0)) await t.stop();
  storage.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the twin in a worker of several', () => {
  it('hands a site over with what its holder saw last, also when a periodic write ran between letting go and the flush', async () => {
    const a = await worker([HOTEL, SHOP], { persistEveryMs: 10 });
    const b = await worker([]);
    send(a, 'door-3-05', { type: 'door', state: 'open' });
    // Let go: a periodic write runs (several, at 10 ms) before the worker flushes.
    a.owner.lose(HOTEL);
    await new Promise((r) => setTimeout(r, 60));
    await a.twin.flushed([HOTEL]);
    b.owner.acquire(HOTEL);
    await b.twin.reloadSite(HOTEL);
    expect(b.twin.deviceState('door-3-05')?.door).toBe('open');
    expect(b.twin.siteState(HOTEL)?.zones['3-05']?.door).toBe('open');
  });

  it('does not write a site taken from it: the new holder may have written newer state', async () => {
    const a = await worker([HOTEL], { persistEveryMs: 60_000 });
    a.owner.lose(HOTEL, 'taken');
    send(a, 'door-3-05', { type: 'door', state: 'open' });
    await a.twin.flushed([HOTEL]);
    expect((await storage.snapshots.loadDeviceStates()).find((s) => s.device === 'door-3-05')?.state.door ?? null).toBeNull();
  });

  it('answers for the sites others hold from what their holders wrote, quietly, and never over a site it holds', async () => {
    const a = await worker([HOTEL], { persistEveryMs: 60_000 });
    const b = await worker([SHOP], { mirrorEveryMs: 20 });
    send(b, 'shop-door-south', { type: 'door', state: 'open' });
    send(a, 'door-3-05', { type: 'door', state: 'open' });
    b.announced.length = 0;
    await a.twin.flushed();
    await eventually(() => b.twin.deviceState('door-3-05')?.door === 'open', 5_000, 20);
    await eventually(() => b.twin.siteState(HOTEL)?.zones['3-05']?.door === 'open', 5_000, 20);
    expect(b.announced).toEqual([]);
    // A stale shop snapshot (written by the hotel's holder, which does not hold the shop) never
    // reaches the shop's holder: its own state stands.
    await storage.snapshots.saveDeviceStates([{ device: 'shop-door-south', state: { door: 'closed' }, updatedAt: new Date().toISOString() }]);
    await new Promise((r) => setTimeout(r, 100));
    expect(b.twin.deviceState('shop-door-south')?.door).toBe('open');
  });
});
