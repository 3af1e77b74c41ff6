/**
 * Backtest: replays stored events, oldest first, through a fresh engine that runs one rule on
 * a ManualClock moved to each event's time, and reports when the rule would have fired. The
 * twin is rebuilt from the replayed events (the real Twin over a private in-memory SQLite
 * database), never the live one, and arming comes from the site schedules: nothing the
 * backtest does is seen outside it.
 *
 * A month of a busy site is hundreds of thousands of events and tens of seconds of work, all
 * of it synchronous (SQLite reads, the twin, the engine). It runs in slices that hand the
 * event loop back every few ms (server/storage/yield.ts), so ingest and the API keep answering
 * meanwhile, and within bounds: at most `maxEvents` events and `maxMs` of wall time. A bound
 * reached stops the replay there and the answer says so (`truncated`, `reason`, `scannedTo`):
 * what was replayed up to `scannedTo` is still a correct backtest of that shorter range.
 */
import { openSqliteStorage } from '../sqlite-storage.ts';
import { apply, closedOut, raise, ruleActor } from '../alarms/state-machine.ts';
import type { Alarm } from '../alarms/types.ts';
import { ManualClock } from '../clock.ts';
import { EventBus } from '../events.ts';
import { createLogger, type Logger } from '../observability/logger.ts';

import type { EventStore, NewEvent } from '../storage/types.ts';
import { DeviceDirectory } from '../registry/directory.ts';
import { Twin } from '../twin/twin.ts';
import { EventLoopSlicer } from '../storage/yield.ts';
import { scanSites } from '../history/scan.ts';
import type { SiteLookup } from './context.ts';
import { RuleEngine } from './engine.ts';
import { scheduleArming } from './hours.ts';
import type { Localized } from '../sites/model.ts';
import { SqliteRuleTimerStore } from './sqlite-timer-store.ts';
import type { Rule } from './schema.ts';
import { staticRules } from './store.ts';

export interface BacktestOptions {
  events: EventStore;
  sites: SiteLookup;
  /** ISO 8601, inclusive / exclusive. */
  from: string;
  to: string;
  logger?: Logger;
  /** Stop collecting after this many firings (the replay still ends at `to`). Default 10,000. */
  maxFirings?: number;
  /** Replay at most this many events. Default DEFAULT_BACKTEST_MAX_EVENTS. */
  maxEvents?: number;
  /** Stop after this much wall time (ms), yields included. Default DEFAULT_BACKTEST_MAX_MS. */
  maxMs?: number;
  /** Told, after each slice, how far the replay is (0..1 of the range): for Retry-After estimates. */
  onProgress?: (fraction: number) => void;
  /** Aborting stops the replay at the next slice (the caller no longer wants the answer). */
  signal?: AbortSignal;
  slicer?: EventLoopSlicer;
}

/** Why an answer is partial: see BacktestResult. */
export type BacktestLimit = 'firings' | 'events' | 'time' | 'aborted';

export interface BacktestFiring {
  at: string;
  source: string;
  zone: string | null;
  device: string | null;
  message: Localized;
  severity: string;
}

/**
 * An alarm as the live alarm service would have kept it over the range with nobody acting on
 * it: the triggers and resolutions folded by the same state machine (one alarm per incident
 * until closed out; latched alarms record `restored`). Without acknowledgements nothing closes
 * out, so each source has at most one alarm, and `count` is how many triggers it folded.
 */
export interface BacktestAlarm {
  source: string;
  zone: string | null;
  device: string | null;
  severity: string;
  firstAt: string;
  lastAt: string;
  count: number;
  latched: boolean;
  /** At the end of the range: `active` (the condition held or, latched, was restored unseen) or `cleared`. */
  state: string;
  restoredAt: string | null;
}

export interface BacktestResult {
  firings: BacktestFiring[];
  /** What the live engine would have raised: one per incident (see BacktestAlarm), oldest first. */
  alarms: BacktestAlarm[];
  resolutions: Array<{ at: string; source: string }>;
  eventsScanned: number;
  ms: number;
  /** True when the answer is partial; `reason` says why. */
  truncated: boolean;
  /**
   * null when complete. `firings`: more than maxFirings firings, the rest are not listed (the
   * replay still went to `to`). `events` / `time` / `aborted`: the replay stopped at `scannedTo`.
   */
  reason: BacktestLimit | null;
  /** The replay covers [from, scannedTo): `to` unless a bound stopped it earlier. */
  scannedTo: string;
}

/** Defaults of the bounds (the server's come from config `limits`). */
export const DEFAULT_BACKTEST_MAX_EVENTS = 2_000_000;
export const DEFAULT_BACKTEST_MAX_MS = 120_000;
/** Events replayed between two looks at the slice clock: 8 × 25–60 µs, so a slice overshoots by < 0.5 ms. */
const CHECK_EVERY = 8;

export async function backtest(rule: Rule, opts: BacktestOptions): Promise<BacktestResult> {
  const started = performance.now();
  const slicer = opts.slicer ?? new EventLoopSlicer();
  // Wait for a turn before the setup too: requests arriving together would otherwise each run
  // their first slice (~10 ms of setup) in the same turn.
  await slicer.yield();
  const fromMs = Date.parse(opts.from);
  const toMs = Date.parse(opts.to);
  const logger = opts.logger ?? createLogger({ level: 'silent' });
  const clock = new ManualClock(fromMs);
  const bus = new EventBus();
  bus.onListenerError = (err) => logger.error({ err }, 'backtest listener failed');
  const scratch = openSqliteStorage(':memory:');
  // The devices the replay meets, in memory only (the twin reads them from here).
  const devices = new DeviceDirectory(scratch.devices);
  const twin = new Twin({ sites: opts.sites, registry: devices, store: scratch.snapshots, settings: scratch.settings, bus, logger, persistEveryMs: 2 ** 30 });
  const site = rule.site === '*' ? undefined : rule.site;
  const engine = new RuleEngine({
    bus,
    clock,
    twin,
    arming: scheduleArming(opts.sites),
    sites: site ? { list: () => opts.sites.list().filter((s) => s.id === site), get: (id) => (id === site ? opts.sites.get(id) : undefined) } : opts.sites,
    rules: staticRules([{ ...rule, enabled: true }]),
    // The replay never restarts, so its timers are never read back: the scratch file takes them.
    timers: new SqliteRuleTimerStore(scratch.db),
    logger,
  });
  const max = opts.maxFirings ?? 10_000;
  const firings: BacktestFiring[] = [];
  const resolutions: BacktestResult['resolutions'] = [];
  let truncated = false;
  bus.on('rule.triggered', (t) => {
    if (firings.length >= max) {
      truncated = true;
      return;
    }
    firings.push({ at: t.at, source: t.source, zone: t.zone, device: t.device, message: t.message, severity: t.severity });
  });
  bus.on('rule.resolved', (r) => resolutions.push({ at: r.at, source: r.source }));
  // The live service's folding, by the same state machine (server/alarms/state-machine.ts).
  const incidents = new Map<string, Alarm>();
  bus.on('rule.triggered', (t) => {
    const live = incidents.get(t.source);
    incidents.set(
      t.source,
      live && !closedOut(live) ? apply(live, { action: 'repeated', at: t.at, severity: t.severity, message: t.message }) : raise(t, `backtest-${incidents.size + 1}`),
    );
  });
  bus.on('rule.resolved', (r) => {
    const live = incidents.get(r.source);
    if (!live || live.state === 'cleared') return;
    if (live.latched) incidents.set(r.source, apply(live, { action: 'restored', at: r.at, by: ruleActor(r.rule) }));
    else if (live.details.autoClear === true) incidents.set(r.source, apply(live, { action: 'cleared', at: r.at, by: ruleActor(r.rule) }));
  });

  const known = new Set<string>();
  const maxEvents = opts.maxEvents ?? DEFAULT_BACKTEST_MAX_EVENTS;
  const maxMs = opts.maxMs ?? DEFAULT_BACKTEST_MAX_MS;
  let scanned = 0;
  let seen = 0;
  let stopped: BacktestLimit | null = null;
  let scannedTo = toMs;
  /** Checked between slices: a bound reached or the caller gone stops the replay. */
  const mustStop = (): BacktestLimit | null => {
    if (opts.signal?.aborted) return 'aborted';
    if (performance.now() - started >= maxMs) return 'time';
    return null;
  };
  await twin.start();
  await engine.start();
  try {
    // A '*' rule replays every site in the catalogue, each through its (site, ts) index.
    const sites = site === undefined ? opts.sites.list().map((s) => s.id) : [site];
    replay: for await (const page of scanSites(opts.events, sites, { from: opts.from, to: opts.to }, { slicer })) {
      for (const e of page) {
        if (++seen % CHECK_EVERY === 0) {
          if (slicer.due()) {
            opts.onProgress?.((clock.now() - fromMs) / Math.max(1, toMs - fromMs));
            await slicer.yield();
          }
          stopped = mustStop();
        }
        if (stopped === null && scanned >= maxEvents) stopped = 'events';
        if (stopped !== null) {
          scannedTo = Date.parse(e.ts);
          break replay;
        }
        if (!known.has(e.device)) {
          // The twin only follows registered devices; the replay registers what it meets.
          known.add(e.device);
          if (!devices.getDevice(e.device)) {
            const at = new Date(fromMs).toISOString();
            devices.put({ id: e.device, site: e.site, type: e.deviceType, zone: e.zone, label: null, position: null, externalIds: {}, secretHash: '-', enabled: true, createdAt: at, updatedAt: at });
          }
        }
        const ts = Date.parse(e.ts);
        if (ts > clock.now()) clock.set(ts);
        const { id: _id, ...event } = e;
        bus.emit('events.accepted', [event satisfies NewEvent]);
        scanned++;
      }
    }
    // Timers that fall due before the end of the replayed range (a door left open at the
    // end) still count; a replay stopped early ends just before the first event it left out.
    const end = stopped === null ? toMs : scannedTo - 1;
    if (end > clock.now()) clock.set(end);
  } finally {
    await engine.stop();
    await twin.stop();
    scratch.close();
  }
  const reason = stopped ?? (truncated ? 'firings' : null);
  logger.debug({ rule: rule.id, scanned, reason, slices: slicer.stats() }, 'backtest done');
  const alarms = [...incidents.values()]
    .sort((a, b) => Date.parse(a.firstAt) - Date.parse(b.firstAt))
    .map((a) => ({ source: a.source, zone: a.zone, device: a.device, severity: a.severity, firstAt: a.firstAt, lastAt: a.lastAt, count: a.count, latched: a.latched, state: a.state, restoredAt: a.restoredAt }));
  return {
    firings,
    alarms,
    resolutions,
    eventsScanned: scanned,
    ms: Math.round(performance.now() - started),
    truncated: reason !== null,
    reason,
    scannedTo: new Date(scannedTo).toISOString(),
  };
}
