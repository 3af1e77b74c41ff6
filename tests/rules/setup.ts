/**
 * A real rules pipeline for tests: SQLite in a temp dir, the demo site files, the real Twin
 * fed by a real EventBus, devices registered through DeviceService, a ManualClock. Events are
 * injected as ingest would announce them ('events.accepted').
 */
import { openSqliteStorage, type SqliteStorage } from '../../server/sqlite-storage.ts';
import { createRuleTimerStore } from '../../server/stores.ts';
import { registryServices } from '../helpers/registry.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AlarmTrigger } from '../../server/alarms/types.ts';
import type { ArmingReader } from '../../server/arming/types.ts';
import { ManualClock } from '../../server/clock.ts';
import type { SiteOwner } from '../../server/cluster/site-ownership.ts';
import { REPO_ROOT } from '../../server/config.ts';
import { EventBus, type ServerEvents } from '../../server/events.ts';
import { createLogger } from '../../server/observability/logger.ts';
import { RuleEngine } from '../../server/rules/engine.ts';
import { ruleSchema, type Rule, type RuleInput } from '../../server/rules/schema.ts';
import { staticRules, type RuleSource } from '../../server/rules/store.ts';

import { SiteCatalog } from '../../server/sites/catalog.ts';

import type { NewEvent, RecordedEvent } from '../../server/storage/types.ts';
import { Twin } from '../../server/twin/twin.ts';

export const SITES_DIR = join(REPO_ROOT, 'sites');
export const RULES_DIR = join(REPO_ROOT, 'rules');
export const logger = createLogger({ level: 'silent' });

let catalog: Promise<SiteCatalog> | null = null;
export function demoSites(): Promise<SiteCatalog> {
  catalog ??= SiteCatalog.load([SITES_DIR]);
  return catalog;
}

/** Manual arming: armed zones are listed as `site/zone`. */
export class TestArming implements ArmingReader {
  readonly armed = new Set<string>();
  isArmed(site: string, zone: string): boolean {
    return this.armed.has(`${site}/${zone}`);
  }
}

export function rule(input: RuleInput): Rule {
  return ruleSchema.parse(input);
}

export interface Rig {
  dir: string;
  storage: SqliteStorage;
  sites: SiteCatalog;
  bus: EventBus;
  clock: ManualClock;
  twin: Twin;
  arming: TestArming;
  engine: RuleEngine;
  triggered: AlarmTrigger[];
  resolved: Array<ServerEvents['rule.resolved'][0]>;
  /** Registers placed devices of the demo sites (by id) so the twin follows them. */
  register(...ids: string[]): Promise<void>;
  /** Emits one event from a placed device at the clock's time. */
  send(device: string, data: RecordedEvent): void;
  /** Another engine on the same bus, clock and store; with `owner`, a worker's (only the sites it holds). */
  newEngine(rules?: RuleSource, owner?: SiteOwner): RuleEngine;
  close(): Promise<void>;
}

export async function startRig(opts: { rules: RuleSource | Rule[]; start?: number; dir?: string }): Promise<Rig> {
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'storetwin-rules-')));
  const storage = openSqliteStorage(join(dir, 'storetwin.db'));
  const sites = await demoSites();
  const bus = new EventBus();
  bus.onListenerError = (err) => {
    throw err;
  };
  const clock = new ManualClock(opts.start ?? Date.parse('2026-11-23T02:00:00Z'));
  const { directory, devices } = await registryServices(storage, { sites, bus });
  const twin = new Twin({ sites, registry: directory, store: storage.snapshots, settings: storage.settings, bus, logger });
  await twin.start();
  const arming = new TestArming();
  const source = Array.isArray(opts.rules) ? staticRules(opts.rules) : opts.rules;
  const triggered: AlarmTrigger[] = [];
  const resolved: Rig['resolved'] = [];
  bus.on('rule.triggered', (t) => triggered.push(t));
  bus.on('rule.resolved', (r) => resolved.push(r));
  const newEngine = (rules: RuleSource = source, owner?: SiteOwner) =>
    new RuleEngine({ bus, clock, twin, arming, sites, rules, timers: createRuleTimerStore({ kind: 'sqlite', db: storage.db }), logger, ...(owner === undefined ? {} : { owner }) });
  const engine = newEngine();
  await engine.start();
  return {
    dir,
    storage,
    sites,
    bus,
    clock,
    twin,
    arming,
    engine,
    triggered,
    resolved,
    async register(...ids) {
      for (const id of ids) {
        const site = sites.siteOfDevice(id);
        const p = site && sites.placement(site.id, id);
        if (!site || !p) throw new Error(`no placement ${id}`);
        if (!directory.getDevice(id)) await devices.register({ id, site: site.id, type: p.type, zone: p.zone });
      }
    },
    send(device, data) {
      const rec = directory.getDevice(device);
      if (!rec) throw new Error(`unregistered ${device}`);
      const ts = new Date(clock.now()).toISOString();
      const e: NewEvent = { site: rec.site, device, deviceType: rec.type, zone: rec.zone, type: data.type, seq: null, ts, receivedAt: ts, data };
      bus.emit('events.accepted', [e]);
    },
    newEngine,
    async close() {
      await twin.stop();
      storage.close();
      if (!opts.dir) await rm(dir, { recursive: true, force: true });
    },
  };
}
