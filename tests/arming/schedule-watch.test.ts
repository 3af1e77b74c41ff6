/**
 * Arming that changes by itself is announced: the shop's cash room armed at 21:00 and disarmed
 * at 09:00 Shanghai time by its schedule, a timed override lapsing — each once, on the quarter
 * minute, as `zone.arming` by "schedule"; a change by hand is not announced a second time. End
 * to end on a real app with a ManualClock: the push reaches the shop's users over socket.io,
 * not the hotel's.
 */
import { openSqliteStorage, type SqliteStorage } from '../../server/sqlite-storage.ts';
import { createArmingStore } from '../../server/stores.ts';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ArmingChange } from '../../protocol/arming.ts';
import { createApp, type App } from '../../server/app.ts';
import { ArmingScheduleWatch } from '../../server/arming/schedule-watch.ts';
import { ArmingService } from '../../server/arming/service.ts';

import { ManualClock } from '../../server/clock.ts';
import { EventBus, type ServerEvents } from '../../server/events.ts';
import type { LiveClientEvents, LiveServerEvents } from '../../server/live/protocol.ts';
import { createLogger } from '../../server/observability/logger.ts';
import { SiteCatalog } from '../../server/sites/catalog.ts';

import { SHIPPED_SITES, tempDir, testConfig } from '../helpers/app.ts';

const SHOP = 'demo-shop';
const MON_2059 = Date.parse('2026-11-23T12:59:00Z'); // Monday 20:59 in Shanghai

describe('ArmingScheduleWatch', () => {
  let dir: string;
  let storage: SqliteStorage;
  let clock: ManualClock;
  let bus: EventBus;
  let arming: ArmingService;
  let watch: ArmingScheduleWatch;
  let announced: ServerEvents['zone.arming'][0][];

  beforeEach(async () => {
    dir = await tempDir();
    storage = openSqliteStorage(join(dir, 'storetwin.db'));
    clock = new ManualClock(MON_2059);
    bus = new EventBus();
    announced = [];
    bus.on('zone.arming', (c) => announced.push(c));
    const sites = await SiteCatalog.load([SHIPPED_SITES]);
    arming = new ArmingService({ store: createArmingStore({ kind: 'sqlite', db: storage.db }), sites, bus, clock });
    await arming.start();
    watch = new ArmingScheduleWatch({ sites, arming, bus, clock });
    watch.start();
  });
  afterEach(async () => {
    watch.stop();
    storage.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('announces a schedule window opening and closing, once each, on the quarter minute', () => {
    clock.advance(59_999);
    expect(announced).toEqual([]);
    clock.advance(1); // 21:00:00: the shop's entrances, office and cash room arm
    expect(announced.map((c) => c.zone).sort()).toEqual(['back-office', 'cash-room', 'entrance-north', 'entrance-south']);
    expect(announced.find((c) => c.zone === 'cash-room')).toEqual({ site: SHOP, zone: 'cash-room', armed: true, by: 'schedule', at: '2026-11-23T13:00:00.000Z' });
    clock.set(Date.parse('2026-11-24T00:59:45Z')); // Tue 08:59:45, nothing new overnight
    expect(announced.filter((c) => c.zone === 'cash-room')).toHaveLength(1);
    clock.advance(15_000); // 09:00:00
    expect(announced.filter((c) => c.zone === 'cash-room').at(-1)).toEqual({ site: SHOP, zone: 'cash-room', armed: false, by: 'schedule', at: '2026-11-24T01:00:00.000Z' });
    // Only zones with windows were announced: the hotel's office (22:00-07:00) among them.
    expect(announced.every((c) => arming.zoneState(c.site, c.zone).schedule.length > 0)).toBe(true);
    expect(announced).toContainEqual({ site: 'demo-hotel', zone: 'office', armed: true, by: 'schedule', at: '2026-11-23T14:00:00.000Z' });
  });

  it('announces a timed override lapsing, and a change by hand only once', async () => {
    await arming.arm(SHOP, 'sales-hall', 'boss', clock.now() + 10 * 60_000);
    expect(announced).toEqual([{ site: SHOP, zone: 'sales-hall', armed: true, by: 'boss', at: '2026-11-23T12:59:00.000Z' }]);
    clock.advance(5 * 60_000);
    // The watch heard the arm: no second announcement of it.
    expect(announced.filter((c) => c.zone === 'sales-hall')).toHaveLength(1);
    clock.advance(5 * 60_000); // 21:09: the override lapses; the hall has no schedule
    expect(announced.filter((c) => c.zone === 'sales-hall').at(-1)).toEqual({ site: SHOP, zone: 'sales-hall', armed: false, by: 'schedule', at: '2026-11-23T13:09:00.000Z' });
    // Disarmed by hand during the cash room's window: no schedule announcement follows it.
    const before = announced.length;
    await arming.disarm(SHOP, 'cash-room', 'boss');
    clock.advance(3600_000);
    expect(announced.slice(before).filter((c) => c.site === SHOP)).toEqual([{ site: SHOP, zone: 'cash-room', armed: false, by: 'boss', at: '2026-11-23T13:09:00.000Z' }]);
  });
});

describe('schedule arming on the live feed', () => {
  const PASSWORD = 'correct horse battery';
  let app: App;
  let httpUrl: string;
  let dir: string;
  let clock: ManualClock;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    dir = await tempDir();
    clock = new ManualClock(MON_2059);
    app = await createApp(testConfig(dir), { clock, logger: createLogger({ level: 'silent' }) });
    ({ httpUrl } = await app.listen());
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await app?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function listen(username: string, sites: string[]): Promise<ArmingChange[]> {
    await app.users.createUser({ username, password: PASSWORD, role: 'manager', sites });
    const { token } = await app.users.login(username, PASSWORD);
    const socket: Socket<LiveServerEvents, LiveClientEvents> = connect(httpUrl, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true });
    sockets.push(socket);
    const seen: ArmingChange[] = [];
    socket.on('arming', (c) => seen.push(c));
    await new Promise<void>((res, rej) => {
      socket.once('connect', () => res());
      socket.once('connect_error', rej);
    });
    return seen;
  }

  it("pushes the cash room's 21:00 arming to the shop's users, not the hotel's", async () => {
    const shop = await listen('shop-mgr', [SHOP]);
    const hotel = await listen('hotel-mgr', ['demo-hotel']);
    clock.advance(60_000);
    const deadline = Date.now() + 3000;
    while (!shop.some((c) => c.zone === 'cash-room') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(shop.find((c) => c.zone === 'cash-room')).toEqual({ site: SHOP, zone: 'cash-room', armed: true, by: 'schedule', at: '2026-11-23T13:00:00.000Z' });
    await new Promise((r) => setTimeout(r, 200));
    expect(hotel.filter((c) => c.site === SHOP)).toEqual([]);
  });
});
