/**
 * A real app for the overview tests (the route and the page): SQLite file, ingest, twin, rules
 * and alarms on ports 0, both demo sites' devices registered, and what the server finds when it
 * starts — counts of today and of the same weekday last week, spread over the days whatever
 * the hour now. `live()` then sends events through ingest, as devices do: people into the
 * shop's hall, a door opened in the armed cash room (critical), a low battery (minor), tamper
 * on a hotel door (critical), the shop's north door offline.
 */
import { rm } from 'node:fs/promises';
import type { DeviceEvent } from '../../devices/types.ts';
import { createApp, type App } from '../../server/app.ts';
import { createLogger } from '../../server/observability/logger.ts';
import { siteDays } from '../../server/overview/footfall.ts';
import type { NewEvent, Role } from '../../server/storage/types.ts';
import { eventually, tempDir, testConfig } from '../helpers/app.ts';
import { registerSiteDevices } from '../history/demo-day.ts';

export const HOTEL = 'demo-hotel';
export const SHOP = 'demo-shop';
export const PASSWORD = 'correct horse battery';
const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

/** People counted in before the start: today at the shop (both entrances), last week at both. */
export const SEEDED = { shopToday: 20 * 5, shopLastWeek: 20 * 4, hotelToday: 5, hotelLastWeek: 20 };

export interface OverviewApp {
  app: App;
  base: string;
  /** A user of that role (limited to `sites` if given) and a bearer token for it. */
  user(username: string, role: Role, sites?: string[]): Promise<string>;
  /** Events from a registered device through ingest (stored, announced, reduced, ruled). */
  accept(device: string, events: DeviceEvent[]): Promise<void>;
  /** The live events listed above; resolves once their alarms are open. */
  live(): Promise<void>;
  stop(): Promise<void>;
}

function count(site: string, device: string, zone: string, ms: number, inN: number, outN: number): NewEvent {
  return { site, device, deviceType: 'footfall-counter', zone, type: 'count', seq: null, ts: iso(ms), receivedAt: iso(ms), data: { type: 'count', in: inN, out: outN, period: 60 } };
}

export async function startOverviewApp(): Promise<OverviewApp> {
  const dataDir = await tempDir('storetwin-overview-');
  const app = await createApp(testConfig(dataDir), { logger: createLogger({ level: (process.env.TEST_LOG_LEVEL as 'info') ?? 'silent' }) });
  for (const site of [HOTEL, SHOP]) await registerSiteDevices(app.storage, app.sites.get(site)!, app.directory);
  const days = siteDays('Asia/Shanghai', Date.now());
  const sofar = Date.now() - days.today.start;
  const history: NewEvent[] = [];
  for (let k = 1; k <= 20; k++) {
    history.push(count(SHOP, 'shop-counter-south', 'entrance-south', days.today.start + Math.floor((sofar * k) / 21), 3, 1));
    history.push(count(SHOP, 'shop-counter-north', 'entrance-north', days.today.start + Math.floor((sofar * k) / 21), 2, 2));
    history.push(count(SHOP, 'shop-counter-south', 'entrance-south', days.weekAgo.start + k * 70 * MIN, 4, 4));
    history.push(count(HOTEL, 'counter-1-entrance', 'entrance', days.weekAgo.start + k * 65 * MIN, 1, 0));
  }
  history.push(count(HOTEL, 'counter-1-entrance', 'entrance', days.today.start + Math.floor(sofar / 2), 5, 0));
  await app.events.append(history);
  const base = (await app.listen()).httpUrl;
  await app.users.createUser({ username: 'overview-admin', password: PASSWORD, role: 'admin' });
  const admin = (await app.users.login('overview-admin', PASSWORD)).token;

  const accept = async (device: string, events: DeviceEvent[]) => {
    const rec = (await app.storage.devices.get(device));
    if (!rec) throw new Error(`no device ${device}`);
    await app.ingest.acceptEvents(rec, events);
  };
  return {
    app,
    base,
    async user(username, role, sites = []) {
      await app.users.createUser({ username, password: PASSWORD, role, sites });
      return (await app.users.login(username, PASSWORD)).token;
    },
    accept,
    async live() {
      await accept('shop-counter-south', [{ type: 'count', in: 7, out: 0, period: 60 }]);
      const armed = await fetch(`${base}/api/sites/${SHOP}/zones/cash-room/arm`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: '{}' });
      if (armed.status !== 200) throw new Error(`arming the cash room: ${armed.status}`);
      await accept('shop-door-cash', [{ type: 'door', state: 'open' }]);
      await accept('shop-door-office', [{ type: 'heartbeat', battery: 2.5 }]);
      const hotelDoor = app.sites.get(HOTEL)!.devices.find((d) => d.type === 'door-sensor')!.id;
      await accept(hotelDoor, [{ type: 'tamper', active: true }]);
      await app.ingest.acceptPlatformStatus((await app.storage.devices.get('shop-door-north'))!, false);
      await eventually(async () => (await app.alarms.open()).length >= 3);
    },
    async stop() {
      await app.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
