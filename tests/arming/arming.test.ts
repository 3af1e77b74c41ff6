import { openSqliteStorage, type SqliteStorage } from '../../server/sqlite-storage.ts';
import { createArmingStore } from '../../server/stores.ts';
import { loadedDirectory } from '../helpers/registry.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { inWindow, localTime, scheduleArmed } from '../../server/sites/schedule.ts';
import { ArmingService } from '../../server/arming/service.ts';

import { MAINTENANCE_LIMITS, MaintenanceService } from '../../server/arming/maintenance.ts';
import { ManualClock } from '../../server/clock.ts';
import { REPO_ROOT } from '../../server/config.ts';
import { EventBus, type ServerEvents } from '../../server/events.ts';
import { SiteCatalog } from '../../server/sites/catalog.ts';

const SHOP = 'demo-shop';
let sites: SiteCatalog;
beforeAll(async () => {
  sites = await SiteCatalog.load([resolve(REPO_ROOT, 'sites')]);
});

describe('schedule windows', () => {
  it('reads local weekday and minute in the site time zone', () => {
    // 2026-11-23 is a Monday; 16:30Z is 00:30 on Tuesday in Shanghai (UTC+8).
    expect(localTime(Date.parse('2026-11-23T16:30:00Z'), 'Asia/Shanghai')).toEqual({ weekday: 'tue', minute: 30 });
    expect(localTime(Date.parse('2026-11-23T16:30:00Z'), 'UTC')).toEqual({ weekday: 'mon', minute: 16 * 60 + 30 });
  });

  it('a window wrapping midnight belongs to its start day', () => {
    const w = { days: ['fri' as const], from: '22:00', to: '02:00' };
    expect(inWindow(w, { weekday: 'fri', minute: 21 * 60 + 59 })).toBe(false);
    expect(inWindow(w, { weekday: 'fri', minute: 22 * 60 })).toBe(true);
    expect(inWindow(w, { weekday: 'sat', minute: 60 })).toBe(true);
    expect(inWindow(w, { weekday: 'sat', minute: 120 })).toBe(false);
    // Friday early morning is the tail of Thursday's window, which does not exist.
    expect(inWindow(w, { weekday: 'fri', minute: 60 })).toBe(false);
    expect(inWindow(w, { weekday: 'sun', minute: 60 })).toBe(false);
  });

  it('24:00 ends the day and weekday lists are honoured', () => {
    const w = { days: ['sat' as const, 'sun' as const], from: '00:00', to: '24:00' };
    // 2026-11-28 is a Saturday.
    expect(scheduleArmed([w], 'Asia/Shanghai', Date.parse('2026-11-27T15:59:00Z'))).toBe(false); // Fri 23:59
    expect(scheduleArmed([w], 'Asia/Shanghai', Date.parse('2026-11-27T16:00:00Z'))).toBe(true); // Sat 00:00
    expect(scheduleArmed([w], 'Asia/Shanghai', Date.parse('2026-11-29T15:59:00Z'))).toBe(true); // Sun 23:59
    expect(scheduleArmed([w], 'Asia/Shanghai', Date.parse('2026-11-29T16:00:00Z'))).toBe(false); // Mon 00:00
  });
});

describe('ArmingService', () => {
  let dir: string;
  let storage: SqliteStorage;
  let clock: ManualClock;
  let bus: EventBus;
  let arming: ArmingService;
  let announced: Array<ServerEvents['zone.arming'][0]>;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'storetwin-arming-'));
    storage = openSqliteStorage(join(dir, 'storetwin.db'));
    clock = new ManualClock(Date.parse('2026-11-23T02:00:00Z'));
    bus = new EventBus();
    announced = [];
    bus.on('zone.arming', (c) => announced.push(c));
    arming = new ArmingService({ store: createArmingStore({ kind: 'sqlite', db: storage.db }), sites, bus, clock });
    await arming.start();
  });
  afterEach(async () => {
    storage.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('arms the shop cash room 21:00-09:00 Shanghai time, wrapping past midnight', () => {
    const at = (iso: string) => arming.isArmed(SHOP, 'cash-room', Date.parse(iso));
    expect(at('2026-11-23T12:59:59Z')).toBe(false); // Mon 20:59:59 local
    expect(at('2026-11-23T13:00:00Z')).toBe(true); // Mon 21:00
    expect(at('2026-11-23T15:59:00Z')).toBe(true); // Mon 23:59
    expect(at('2026-11-23T16:00:00Z')).toBe(true); // Tue 00:00
    expect(at('2026-11-24T00:59:59Z')).toBe(true); // Tue 08:59:59
    expect(at('2026-11-24T01:00:00Z')).toBe(false); // Tue 09:00
    // A zone without a schedule is never armed by it.
    expect(at('2026-11-23T16:00:00Z') && arming.isArmed(SHOP, 'sales-hall', Date.parse('2026-11-23T16:00:00Z'))).toBe(false);
    expect(arming.zoneState(SHOP, 'cash-room', Date.parse('2026-11-23T16:00:00Z'))).toMatchObject({ armed: true, source: 'schedule', scheduleArmed: true });
  });

  it('a manual override wins until its `until`, then the schedule decides again', async () => {
    const now = clock.now(); // Mon 10:00 local: schedule says disarmed
    expect(arming.isArmed(SHOP, 'cash-room', now)).toBe(false);
    const state = await arming.arm(SHOP, 'cash-room', 'boss', now + 3600_000);
    expect(state).toMatchObject({ armed: true, source: 'manual', by: 'boss', until: '2026-11-23T03:00:00.000Z', scheduleArmed: false });
    expect(announced).toEqual([{ site: SHOP, zone: 'cash-room', armed: true, by: 'boss', at: '2026-11-23T02:00:00.000Z' }]);
    expect(arming.isArmed(SHOP, 'cash-room', now + 3599_999)).toBe(true);
    expect(arming.isArmed(SHOP, 'cash-room', now + 3600_000)).toBe(false);
    clock.advance(3600_000);
    expect(arming.zoneState(SHOP, 'cash-room')).toMatchObject({ armed: false, source: 'schedule', by: null });

    // Disarm at night without until: holds through the schedule's window.
    clock.set(Date.parse('2026-11-23T14:00:00Z')); // 22:00 local
    expect(arming.isArmed(SHOP, 'cash-room', clock.now())).toBe(true);
    await arming.disarm(SHOP, 'cash-room', 'boss');
    expect(arming.isArmed(SHOP, 'cash-room', clock.now() + 6 * 3600_000)).toBe(false);
    expect(await arming.resumeSchedule(SHOP, 'cash-room', 'boss')).toMatchObject({ armed: true, source: 'schedule' });
    expect(announced.at(-1)).toMatchObject({ armed: true, by: 'boss' });
  });

  it('survives a new service over the same database, and validates zones and until', async () => {
    await arming.arm(SHOP, 'sales-hall', 'boss');
    const again = new ArmingService({ store: createArmingStore({ kind: 'sqlite', db: storage.db }), sites, bus, clock });
    await again.start();
    expect(again.isArmed(SHOP, 'sales-hall', clock.now())).toBe(true);
    await expect(arming.arm(SHOP, 'no-such-zone', 'boss')).rejects.toMatchObject({ code: 'STW_ERR_ZONE_NOT_FOUND' });
    await expect(arming.arm('no-site', 'cash-room', 'boss')).rejects.toMatchObject({ code: 'STW_ERR_SITE_NOT_FOUND' });
    await expect(arming.arm(SHOP, 'cash-room', 'boss', clock.now())).rejects.toMatchObject({ code: 'STW_ERR_VALIDATION' });
    const zones = arming.siteState(SHOP);
    expect(zones.map((z) => z.zone)).toContain('cash-room');
    expect(zones.find((z) => z.zone === 'sales-hall')).toMatchObject({ armed: true, source: 'manual' });
    expect(zones.find((z) => z.zone === 'cash-room')).toMatchObject({ armed: false, source: 'schedule' });
  });
});

describe('MaintenanceService', () => {
  let dir: string;
  let storage: SqliteStorage;
  let clock: ManualClock;
  let maintenance: MaintenanceService;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'storetwin-maint-'));
    storage = openSqliteStorage(join(dir, 'storetwin.db'));
    clock = new ManualClock(Date.parse('2026-11-23T02:00:00Z'));
    maintenance = new MaintenanceService({ store: createArmingStore({ kind: 'sqlite', db: storage.db }), sites, registry: await loadedDirectory(storage), clock });
    await maintenance.start();
  });
  afterEach(async () => {
    storage.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('suppresses a zone or a device for its window, and ends early on request', async () => {
    const now = clock.now();
    const zoneWindow = await maintenance.create({ site: SHOP, zone: 'cash-room', until: now + 30 * 60_000, reason: 'new sensor', by: 'boss', mayArm: true });
    expect(zoneWindow).toMatchObject({ site: SHOP, zone: 'cash-room', device: null, by: 'boss', reason: 'new sensor', active: true });
    const devWindow = await maintenance.create({ site: SHOP, device: 'shop-cam-cash', until: now + 60 * 60_000, by: 'tech', mayArm: false });

    // The reader names the window that matched, with the site's time zone for messages.
    expect(maintenance.inMaintenance(SHOP, 'cash-room', 'shop-door-cash', now)).toEqual({ ...zoneWindow, timezone: 'Asia/Shanghai' });
    expect(maintenance.inMaintenance(SHOP, 'back-office', 'shop-door-office', now)).toBeNull();
    expect(maintenance.inMaintenance(SHOP, 'sales-hall', 'shop-cam-cash', now + 45 * 60_000)).toMatchObject({ id: devWindow.id, by: 'tech', active: true });
    // Both match: the one ending last answers.
    expect(maintenance.inMaintenance(SHOP, 'cash-room', 'shop-cam-cash', now)).toMatchObject({ id: devWindow.id });
    expect(maintenance.inMaintenance(SHOP, 'cash-room', null, now + 30 * 60_000)).toBeNull();
    expect(maintenance.inMaintenance('demo-hotel', 'cash-room', null, now)).toBeNull();
    expect((await maintenance.list(SHOP)).map((w) => w.id)).toEqual([zoneWindow.id, devWindow.id]);

    clock.advance(5 * 60_000);
    const ended = await maintenance.end(devWindow.id, { mayArm: false });
    expect(ended).toMatchObject({ active: false, until: new Date(clock.now()).toISOString() });
    expect(maintenance.inMaintenance(SHOP, null, 'shop-cam-cash', clock.now())).toBeNull();
    expect((await maintenance.list(SHOP)).map((w) => w.id)).toEqual([zoneWindow.id]);
    // Kept as a record.
    expect(await maintenance.get(devWindow.id)).toMatchObject({ device: 'shop-cam-cash', by: 'tech' });
  });

  it('a service started over the same database suppresses the windows still open; they lapse by themselves', async () => {
    const now = clock.now();
    const w = await maintenance.create({ site: SHOP, device: 'shop-cam-cash', until: now + 60 * 60_000, by: 'tech', mayArm: false });
    const again = new MaintenanceService({ store: createArmingStore({ kind: 'sqlite', db: storage.db }), sites, registry: await loadedDirectory(storage), clock });
    expect(again.inMaintenance(SHOP, null, 'shop-cam-cash', now)).toBeNull(); // its view is loaded by start()
    await again.start();
    expect(again.inMaintenance(SHOP, 'sales-hall', 'shop-cam-cash', now)).toMatchObject({ id: w.id, active: true, timezone: 'Asia/Shanghai' });
    clock.advance(60 * 60_000);
    expect(again.inMaintenance(SHOP, 'sales-hall', 'shop-cam-cash', clock.now())).toBeNull();
    expect(await again.list(SHOP)).toEqual([]);
  });

  it('keeps zone windows and long windows to zones:arm, and caps every window', async () => {
    const now = clock.now();
    const code = async (fn: () => Promise<unknown>) => {
      try {
        await fn();
        return null;
      } catch (err) {
        return (err as { code: string; message: string }).code + ': ' + (err as Error).message;
      }
    };
    const { withoutArmingMs, maxMs } = MAINTENANCE_LIMITS;
    expect(withoutArmingMs).toBe(8 * 3600_000);
    expect(await code(() => maintenance.create({ site: SHOP, zone: 'cash-room', until: now + 60_000, by: 'tech', mayArm: false }))).toMatch(/^STW_ERR_FORBIDDEN: .*zones:arm/);
    expect(await code(() => maintenance.create({ site: SHOP, device: 'shop-cam-cash', until: now + withoutArmingMs + 1, by: 'tech', mayArm: false }))).toMatch(/^STW_ERR_VALIDATION: .*at most 8 h/);
    // Measured from the window's start, not from now.
    const from = now + 3600_000;
    expect(await code(() => maintenance.create({ site: SHOP, device: 'shop-cam-cash', from, until: from + withoutArmingMs + 1, by: 'tech', mayArm: false }))).toMatch(/^STW_ERR_VALIDATION/);
    expect(await maintenance.create({ site: SHOP, device: 'shop-cam-cash', from, until: from + withoutArmingMs, by: 'tech', mayArm: false })).toMatchObject({ active: false });
    expect(await maintenance.create({ site: SHOP, device: 'shop-door-cash', until: now + 3 * 86400_000, by: 'boss', mayArm: true })).toMatchObject({ active: true });
    expect(await code(() => maintenance.create({ site: SHOP, zone: 'cash-room', until: Date.parse('2036-01-01T00:00:00Z'), by: 'boss', mayArm: true }))).toMatch(/^STW_ERR_VALIDATION: .*30 days/);
    expect(await code(() => maintenance.create({ site: SHOP, zone: 'cash-room', from: now + maxMs + 1, until: now + maxMs + 60_000, by: 'boss', mayArm: true }))).toMatch(/^STW_ERR_VALIDATION: .*30 days ahead/);

    const zoneWindow = await maintenance.create({ site: SHOP, zone: 'cash-room', until: now + maxMs, by: 'boss', mayArm: true });
    expect(await code(() => maintenance.end(zoneWindow.id, { mayArm: false }))).toMatch(/^STW_ERR_FORBIDDEN/);
    expect(await maintenance.get(zoneWindow.id)).toMatchObject({ active: true });
    expect(await maintenance.end(zoneWindow.id, { mayArm: true })).toMatchObject({ active: false });
  });

  it('refuses unknown zones, devices, and windows in the past', async () => {
    const now = clock.now();
    const code = async (fn: () => Promise<unknown>) => {
      try {
        await fn();
        return null;
      } catch (err) {
        return (err as { code: string }).code;
      }
    };
    const by = { by: 't', mayArm: true };
    expect(await code(() => maintenance.create({ site: SHOP, zone: 'nope', until: now + 1000, ...by }))).toBe('STW_ERR_ZONE_NOT_FOUND');
    expect(await code(() => maintenance.create({ site: SHOP, device: 'nope', until: now + 1000, ...by }))).toBe('STW_ERR_DEVICE_NOT_FOUND');
    expect(await code(() => maintenance.create({ site: SHOP, device: 'hotel-door-2-01', until: now + 1000, ...by }))).toBe('STW_ERR_DEVICE_NOT_FOUND');
    expect(await code(() => maintenance.create({ site: 'nope', zone: 'cash-room', until: now + 1000, ...by }))).toBe('STW_ERR_SITE_NOT_FOUND');
    expect(await code(() => maintenance.create({ site: SHOP, until: now + 1000, ...by }))).toBe('STW_ERR_VALIDATION');
    expect(await code(() => maintenance.create({ site: SHOP, zone: 'cash-room', until: now, ...by }))).toBe('STW_ERR_VALIDATION');
    expect(await code(() => maintenance.end(999, { mayArm: true }))).toBe('STW_ERR_MAINTENANCE_NOT_FOUND');
  });
});
