/**
 * Backtest: replays stored events, oldest first, through a fresh engine that runs one rule on
 * a ManualClock moved to each event's time, and reports when the rule would have fired. The
 * twin is rebuilt from the replayed events (the real Twin over a private in-memory SQLite
 * database), never the live one, and arming comes from the site schedules: nothing the
 * backtest does is seen outside it.
 */
import { ManualClock } from '../clock.ts';
import { EventBus } from '../events.ts';
import { createLogger, type Logger } from '../observability/logger.ts';
import { openSqliteStorage } from '../storage/sqlite/index.ts';
import type { EventStore, NewEvent } from '../storage/types.ts';
import { Twin } from '../twin/twin.ts';
import type { SiteLookup } from './context.ts';
import { RuleEngine } from './engine.ts';
import { scheduleArming } from './hours.ts';
import type { Localized } from '../sites/model.ts';
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
}

export interface BacktestFiring {
  at: string;
  source: string;
  zone: string | null;
  device: string | null;
  message: Localized;
  severity: string;
}

export interface BacktestResult {
  firings: BacktestFiring[];
  resolutions: Array<{ at: string; source: string }>;
  eventsScanned: number;
  ms: number;
  truncated: boolean;
}

const PAGE = 1000;

export async function backtest(rule: Rule, opts: BacktestOptions): Promise<BacktestResult> {
  const started = performance.now();
  const fromMs = Date.parse(opts.from);
  const toMs = Date.parse(opts.to);
  const logger = opts.logger ?? createLogger({ level: 'silent' });
  const clock = new ManualClock(fromMs);
  const bus = new EventBus();
  bus.onListenerError = (err) => logger.error({ err }, 'backtest listener failed');
  const scratch = openSqliteStorage(':memory:');
  const twin = new Twin({ sites: opts.sites, registry: scratch.registry, bus, logger, persistEveryMs: 2 ** 30 });
  const site = rule.site === '*' ? undefined : rule.site;
  const engine = new RuleEngine({
    bus,
    clock,
    twin,
    arming: scheduleArming(opts.sites),
    sites: site ? { list: () => opts.sites.list().filter((s) => s.id === site), get: (id) => (id === site ? opts.sites.get(id) : undefined) } : opts.sites,
    rules: staticRules([{ ...rule, enabled: true }]),
    db: scratch.db,
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

  const known = new Set<string>();
  let scanned = 0;
  twin.start();
  engine.start();
  try {
    let cursor: string | undefined;
    for (;;) {
      const page = await opts.events.query({ site, from: opts.from, to: opts.to, limit: PAGE, order: 'asc', cursor });
      for (const e of page.items) {
        if (!known.has(e.device)) {
          // The twin only follows registered devices; the replay registers what it meets.
          known.add(e.device);
          if (!scratch.registry.getDevice(e.device)) {
            const at = new Date(fromMs).toISOString();
            scratch.registry.insertDevice({ id: e.device, site: e.site, type: e.deviceType, zone: e.zone, label: null, position: null, externalIds: {}, secretHash: '-', enabled: true, createdAt: at, updatedAt: at });
          }
        }
        const ts = Date.parse(e.ts);
        if (ts > clock.now()) clock.set(ts);
        const { id: _id, ...event } = e;
        bus.emit('events.stored', [event satisfies NewEvent]);
        scanned++;
      }
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    // Timers that fall due before the end of the range (a door left open at the end) still count.
    if (toMs > clock.now()) clock.set(toMs);
  } finally {
    engine.stop();
    twin.stop();
    scratch.close();
  }
  return { firings, resolutions, eventsScanned: scanned, ms: Math.round(performance.now() - started), truncated };
}
