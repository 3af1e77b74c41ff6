/**
 * The long-read thread with the events in InfluxDB: it opens its own client on the server's
 * URL (read-only) and replays a backtest from there, with the same answer as the same backtest
 * on the event loop. A store it cannot reach fails the job with a coded error.
 */
import { InfluxDB } from 'influx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../server/observability/logger.ts';
import { ReadWorker } from '../../server/reads/worker.ts';
import { backtest } from '../../server/rules/backtest.ts';
import type { SiteCatalog } from '../../server/sites/catalog.ts';
import { InfluxEventStore } from '../../server/storage/influx/event-store.ts';
import type { NewEvent, RecordedEvent } from '../../server/storage/types.ts';
import { startInfluxd, type Influxd } from '../helpers/influxd.ts';
import { freePort } from '../helpers/mosquitto.ts';
import { tempStorage } from '../helpers/storage.ts';
import { demoSites, rule } from '../rules/setup.ts';

const FROM = Date.parse('2026-11-20T00:00:00Z');
const TO = FROM + 86_400_000;
const logger = createLogger({ level: 'silent' });

let influxd: Influxd;
let sqlite: Awaited<ReturnType<typeof tempStorage>>;
let sites: SiteCatalog;
let url: string;

/** Room 3-07's door opens every 6 hours and stays open 10 minutes; other doors report and close. */
function events(): NewEvent[] {
  const out: NewEvent[] = [];
  const push = (device: string, zone: string, ms: number, data: RecordedEvent) => {
    const ts = new Date(ms).toISOString();
    out.push({ site: 'demo-hotel', device, deviceType: 'door-sensor', zone, type: data.type, seq: null, ts, receivedAt: ts, data });
  };
  for (let k = 0; k < 4; k++) {
    const at = FROM + k * 6 * 3600_000 + 1000;
    push('door-3-07', '3-07', at, { type: 'door', state: 'open' });
    push('door-3-07', '3-07', at + 600_000, { type: 'door', state: 'closed' });
    push('door-2-14', '2-14', at, { type: 'door', state: 'open' });
    push('door-2-14', '2-14', at + 20_000, { type: 'door', state: 'closed' });
    push('door-2-14', '2-14', at + 60_000, { type: 'heartbeat', battery: 3.1, rsrp: -90 });
  }
  return out;
}

const openLong = rule({
  id: 'open-long',
  site: 'demo-hotel',
  zoneKinds: ['room'],
  severity: 'major',
  message: { en: 'Room {zone} open {minutes} min', 'zh-CN': '{zone} {minutes}' },
  enabled: true,
  when: { kind: 'duration', where: [{ field: 'door', op: 'eq', value: 'open' }], seconds: 300 },
});

beforeAll(async () => {
  influxd = await startInfluxd();
  url = `${influxd.url}/reads_${process.pid}`;
  const store = new InfluxEventStore(url, { rawRetentionDays: 0 });
  await store.start();
  await store.append(events());
  sqlite = await tempStorage('storetwin-reads-');
  sites = await demoSites();
}, 30_000);

afterAll(async () => {
  await sqlite?.close();
  await influxd?.stop();
});

describe('long-read thread on InfluxDB', () => {
  it('replays a backtest from InfluxDB, as the same backtest on the event loop does', async () => {
    const reads = new ReadWorker({ dbFile: sqlite.storage.db.name, events: { kind: 'influx', url }, logLevel: 'silent', logger });
    try {
      const job = { rule: openLong, sites: sites.list(), from: new Date(FROM).toISOString(), to: new Date(TO).toISOString(), maxEvents: 1_000_000, maxMs: 60_000 };
      const inThread = await reads.backtest(job);
      expect(inThread.eventsScanned).toBe(20);
      expect(inThread.firings.map((f) => [f.at, f.source])).toEqual([0, 1, 2, 3].map((k) => [new Date(FROM + k * 6 * 3600_000 + 1000 + 300_000).toISOString(), 'demo-hotel/3-07']));
      const onLoop = await backtest(openLong, { events: new InfluxEventStore(url), sites, from: job.from, to: job.to });
      expect({ ...inThread, ms: 0 }).toEqual({ ...onLoop, ms: 0 });
      // The thread never touched the layout: still the one database.
      expect(await new InfluxDB(influxd.url).getDatabaseNames()).toContain(`reads_${process.pid}`);
    } finally {
      await reads.stop();
    }
  }, 60_000);

  it('fails a job with a coded error when InfluxDB cannot be reached', async () => {
    const dead = `http://127.0.0.1:${await freePort()}/storetwin`;
    const reads = new ReadWorker({ dbFile: sqlite.storage.db.name, events: { kind: 'influx', url: dead, options: { timeoutMs: 2000 } }, logLevel: 'silent', logger });
    try {
      const job = { rule: openLong, sites: sites.list(), from: new Date(FROM).toISOString(), to: new Date(TO).toISOString(), maxEvents: 1000, maxMs: 10_000 };
      await expect(reads.backtest(job)).rejects.toMatchObject({ code: 'STW_ERR_STORAGE_UNAVAILABLE' });
    } finally {
      await reads.stop();
    }
  }, 60_000);
});
