/**
 * A real alarm service for tests: a SQLite file in a temp dir, the real store (which writes the
 * outbox `deliveries` in the change's transaction), a bus and a manual clock, so a test can
 * check that a delivery row exists exactly when its alarm change committed.
 */
import { openSqliteStorage, type SqliteStorage } from '../../server/sqlite-storage.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ActiveMaintenance, MaintenanceReader } from '../../server/arming/types.ts';
import { AlarmService, type AlarmServiceDeps } from '../../server/alarms/service.ts';
import { SqliteAlarmStore } from '../../server/alarms/sqlite-store.ts';
import type { AlarmTrigger } from '../../server/alarms/types.ts';
import { ManualClock } from '../../server/clock.ts';
import { EventBus } from '../../server/events.ts';
import type { DeliveryPlanner, NewDelivery, PlanOptions } from '../../server/notify/types.ts';
import { createLogger } from '../../server/observability/logger.ts';
import { Metrics } from '../../server/observability/metrics.ts';
import type { Database } from '../../server/storage/sqlite/database.ts';

/** One delivery per change, keyed by alarm, action and a per-planner sequence. */
export class TestPlanner implements DeliveryPlanner {
  private seq = 0;
  /** Set to make the next plan() throw (rollback tests). */
  failNext: Error | null = null;

  plan(alarm: Parameters<DeliveryPlanner['plan']>[0], action: Parameters<DeliveryPlanner['plan']>[1], opts: PlanOptions): NewDelivery[] {
    if (this.failNext) {
      const err = this.failNext;
      this.failNext = null;
      throw err;
    }
    this.seq += 1;
    return [
      {
        idempotencyKey: `${alarm.id}:${action}:${this.seq}`,
        alarm: alarm.id,
        site: alarm.site,
        channel: 'webhook',
        route: `level-${opts.level}`,
        payload: { action, state: alarm.state, count: alarm.count },
        nextAttemptAt: opts.now,
      },
    ];
  }
}

/** Devices and zones (`site/id`) under maintenance; each answers with `window` (by tech, until `until`, Shanghai time). */
export class TestMaintenance implements MaintenanceReader {
  readonly devices = new Set<string>();
  readonly zones = new Set<string>();
  window: Omit<ActiveMaintenance, 'site' | 'zone' | 'device'> = {
    id: 7,
    by: 'tech',
    reason: null,
    from: '2026-11-23T02:00:00.000Z',
    until: '2026-11-23T06:00:00.000Z',
    active: true,
    timezone: 'Asia/Shanghai',
  };
  inMaintenance(site: string, zone: string | null, device: string | null): ActiveMaintenance | null {
    if (device !== null && this.devices.has(`${site}/${device}`)) return { ...this.window, site, zone: null, device };
    if (zone !== null && this.zones.has(`${site}/${zone}`)) return { ...this.window, site, zone, device: null };
    return null;
  }
}

export interface AlarmFixture {
  dir: string;
  file: string;
  storage: SqliteStorage;
  db: Database;
  store: SqliteAlarmStore;
  bus: EventBus;
  clock: ManualClock;
  planner: TestPlanner;
  maintenance: TestMaintenance;
  metrics: Metrics;
  published: Array<{ topic: string; payload: Buffer }>;
  service: AlarmService;
  /** Another service on a second connection to the same file (a second worker or the CLI). */
  secondService(): AlarmService;
  deliveries(alarm?: string): Array<{ alarm: string; route: string; payload: string }>;
  close(): void;
}

export function createAlarmFixture(extra: Partial<AlarmServiceDeps> = {}): AlarmFixture {
  const dir = mkdtempSync(join(tmpdir(), 'storetwin-alarms-'));
  const file = join(dir, 'storetwin.db');
  const storage = openSqliteStorage(file);
  const db = storage.db;
  const bus = new EventBus();
  const clock = new ManualClock();
  const planner = new TestPlanner();
  const maintenance = new TestMaintenance();
  const metrics = new Metrics({ processMetrics: false });
  const published: Array<{ topic: string; payload: Buffer }> = [];
  const logger = createLogger({ level: (process.env.TEST_LOG_LEVEL as 'info' | undefined) ?? 'silent' });
  const store = new SqliteAlarmStore(db);
  const others: SqliteStorage[] = [];
  const service = new AlarmService({
    store,
    planner,
    bus,
    clock,
    maintenance,
    metrics,
    logger,
    publish: (topic, payload) => published.push({ topic, payload }),
    ...extra,
  });
  return {
    dir,
    file,
    storage,
    db,
    store,
    bus,
    clock,
    planner,
    maintenance,
    metrics,
    published,
    service,
    secondService() {
      const other = openSqliteStorage(file);
      others.push(other);
      return new AlarmService({ store: new SqliteAlarmStore(other.db), planner, bus, clock, logger });
    },
    deliveries(alarm) {
      const sql = 'SELECT alarm, route, payload FROM deliveries' + (alarm === undefined ? '' : ' WHERE alarm = ?') + ' ORDER BY id';
      const stmt = db.prepare<unknown[], { alarm: string; route: string; payload: string }>(sql);
      return alarm === undefined ? stmt.all() : stmt.all(alarm);
    },
    close() {
      for (const o of others) o.close();
      storage.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function trigger(over: Partial<AlarmTrigger> = {}): AlarmTrigger {
  return {
    site: 'demo-hotel',
    zone: 'room-101',
    device: 'door-101',
    rule: 'door-armed',
    source: 'door-101',
    severity: 'major',
    message: { en: 'Door opened in armed room 101', 'zh-CN': '布防房间101门被打开' },
    autoClear: false,
    at: '2026-11-23T02:14:07Z',
    ...over,
  };
}
