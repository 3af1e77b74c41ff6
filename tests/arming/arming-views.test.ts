/**
 * ArmingService and MaintenanceService views across two workers (issue 12): two services of
 * each over two pools of one PostgreSQL schema. A zone armed or a window opened through one is
 * in the other's view within a second (LISTEN/NOTIFY, server/storage/postgres/changes.ts), and a
 * change made while the other's listening connection was down is picked up once it is back.
 */
import { createArmingStore } from '../../server/stores.ts';
import { resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MaintenanceService } from '../../server/arming/maintenance.ts';
import { ARMING_PG_SCHEMA } from '../../server/arming/postgres-store.ts';
import { ArmingService } from '../../server/arming/service.ts';
import { ArmingScheduleWatch } from '../../server/arming/schedule-watch.ts';

import { ManualClock } from '../../server/clock.ts';
import { REPO_ROOT } from '../../server/config.ts';
import { EventBus, type ServerEvents } from '../../server/events.ts';
import { SiteCatalog } from '../../server/sites/catalog.ts';
import { storeChanges } from '../../server/storage/postgres/changes.ts';
import { migratePostgres } from '../../server/storage/postgres/migrate.ts';
import { openPostgres, type Postgres } from '../../server/storage/postgres/postgres.ts';
import { freshPostgres, startPostgres, type PostgresServer } from '../helpers/postgres.ts';

const SHOP = 'demo-shop';
let server: PostgresServer;
let sites: SiteCatalog;
beforeAll(async () => {
  sites = await SiteCatalog.load([resolve(REPO_ROOT, 'sites')]);
  server = await startPostgres();
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

async function within(ms: number, check: () => boolean): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Worker {
  pg: Postgres;
  bus: EventBus;
  arming: ArmingService;
  maintenance: MaintenanceService;
}

describe('arming and maintenance views across two workers', () => {
  // Monday 10:00 in Shanghai: the shop's cash room is disarmed by its schedule (21:00-09:00).
  const clock = new ManualClock(Date.parse('2026-11-23T02:00:00Z'));
  let cleanup: () => Promise<void>;
  let a: Worker;
  let b: Worker;
  const stops: Array<() => Promise<void>> = [];

  async function worker(pg: Postgres, backoffMs: number): Promise<Worker> {
    await storeChanges(pg).start({ backoffMs });
    const store = createArmingStore({ kind: 'postgres', pg });
    const bus = new EventBus();
    const w = { pg, bus, arming: new ArmingService({ store, sites, bus, clock }), maintenance: new MaintenanceService({ store, sites, clock }) };
    await w.arming.start();
    await w.maintenance.start();
    stops.push(async () => {
      w.arming.stop();
      w.maintenance.stop();
      await storeChanges(pg).stop();
    });
    return w;
  }

  beforeEach(async () => {
    const fresh = await freshPostgres(server);
    cleanup = fresh.cleanup;
    await migratePostgres(fresh.pg, [ARMING_PG_SCHEMA]);
    const second = await openPostgres(server.url, { schema: fresh.schema });
    stops.push(() => second.close());
    a = await worker(fresh.pg, 50);
    // B waits 300 ms before reconnecting: long enough to write while it does not listen.
    b = await worker(second, 300);
  });

  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
    await cleanup();
  });

  it('a zone armed, disarmed or given back to its schedule on one is so on the other within a second', async () => {
    const now = clock.now();
    expect(b.arming.isArmed(SHOP, 'cash-room', now)).toBe(false);
    await a.arming.arm(SHOP, 'cash-room', 'boss');
    await within(1000, () => b.arming.isArmed(SHOP, 'cash-room', now));
    expect(b.arming.zoneState(SHOP, 'cash-room', now)).toMatchObject({ armed: true, source: 'manual', by: 'boss' });
    await a.arming.disarm(SHOP, 'sales-hall', 'boss', now + 3600_000);
    await a.arming.resumeSchedule(SHOP, 'cash-room', 'boss');
    await within(1000, () => !b.arming.isArmed(SHOP, 'cash-room', now) && b.arming.zoneState(SHOP, 'sales-hall', now).source === 'manual');
    expect(b.arming.zoneState(SHOP, 'cash-room', now).source).toBe('schedule');
    // And the other way round.
    await b.arming.arm(SHOP, 'back-office', 'night');
    await within(1000, () => a.arming.isArmed(SHOP, 'back-office', now));
  });

  it('the other worker’s schedule watch takes a remote change as known, not as the schedule’s', async () => {
    const announced: Array<ServerEvents['zone.arming'][0]> = [];
    b.bus.on('zone.arming', (c) => announced.push(c));
    const watch = new ArmingScheduleWatch({ sites, arming: b.arming, bus: b.bus, clock });
    watch.start();
    try {
      await a.arming.arm(SHOP, 'cash-room', 'boss');
      await within(1000, () => b.arming.isArmed(SHOP, 'cash-room', clock.now()));
      watch.check();
      // Worker A announced it (to every browser through the shared feed); B does not again.
      expect(announced).toEqual([]);
    } finally {
      watch.stop();
    }
  });

  it('a maintenance window opened or ended on one is so on the other within a second', async () => {
    const now = clock.now();
    const w = await a.maintenance.create({ site: SHOP, zone: 'cash-room', until: now + 30 * 60_000, reason: 'new sensor', by: 'boss', mayArm: true });
    await within(1000, () => b.maintenance.inMaintenance(SHOP, 'cash-room', 'shop-door-cash', now) !== null);
    expect(b.maintenance.inMaintenance(SHOP, 'cash-room', 'shop-door-cash', now)).toMatchObject({ id: w.id, by: 'boss', reason: 'new sensor' });
    await a.maintenance.end(w.id, { mayArm: true });
    await within(1000, () => b.maintenance.inMaintenance(SHOP, 'cash-room', 'shop-door-cash', now) === null);
  });

  it('picks up a change made while its listening connection was down (a full reload)', async () => {
    const now = clock.now();
    const pid = storeChanges(b.pg).backendPid;
    expect(pid).not.toBeNull();
    await a.pg.query('SELECT pg_terminate_backend($1)', [pid]);
    await within(1000, () => !storeChanges(b.pg).listening);
    // Notified while nobody on B listens: lost, so only the full reload after reconnecting brings it.
    await a.arming.arm(SHOP, 'cash-room', 'boss');
    const w = await a.maintenance.create({ site: SHOP, device: 'shop-cam-cash', until: now + 60 * 60_000, by: 'tech', mayArm: false });
    await within(2000, () => b.arming.isArmed(SHOP, 'cash-room', now) && b.maintenance.inMaintenance(SHOP, 'sales-hall', 'shop-cam-cash', now)?.id === w.id);
    await within(1000, () => storeChanges(b.pg).listening && storeChanges(b.pg).backendPid !== pid);
  });

  it('a write that fails announces nothing and leaves both views as they were', async () => {
    const now = clock.now();
    // A window the table refuses (until before from): the insert's transaction rolls back.
    await expect(
      createArmingStore({ kind: 'postgres', pg: a.pg }).insertWindow({ site: SHOP, zone: 'cash-room', device: null, by: 'x', reason: null, from: now + 10_000, until: now }),
    ).rejects.toMatchObject({ code: 'STW_ERR_STORAGE_UNAVAILABLE' });
    await a.arming.arm(SHOP, 'back-office', 'boss');
    await within(1000, () => b.arming.isArmed(SHOP, 'back-office', now));
    await b.maintenance.settled();
    expect(b.maintenance.inMaintenance(SHOP, 'cash-room', null, now + 5_000)).toBeNull();
  });
});
