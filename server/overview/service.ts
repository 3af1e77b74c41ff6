/**
 * The chain overview (渠道画像, issue 8): every site a user may see, one row each, computed in
 * one pass per figure across the sites rather than a round of queries per site:
 * - open alarms: one query for every alarm not closed out (AlarmService.open()), grouped here;
 * - device health and occupancy: the twin's live state (no storage read at all);
 * - footfall: the rollup (footfall-rollup.ts), which reads only the minutes it has not read;
 *   the counters of all sites, kept until a device changes;
 * - response KPI: ResponseKpis over the last 7 days, by site, for roles with `kpis:read`.
 * A feature module: start() subscribes the rollup to late counts and warms it up (reads the
 * days of every site once, in event-loop slices), stop() lets go.
 */
import { can, visibleSites } from '../auth/roles.ts';
import type { Alarm } from '../alarms/types.ts';
import { StoreTwinError } from '../errors.ts';
import type { EventBus } from '../events.ts';
import { countersOf, type Counter } from '../history/footfall.ts';
import type { ResponseKpis } from '../kpis/service.ts';
import type { Logger } from '../observability/logger.ts';
import type { Site } from '../sites/model.ts';
import type { DeviceLookup } from '../registry/directory.ts';
import type { EventStore, UserRecord } from '../storage/types.ts';
import type { TwinReader } from '../twin/types.ts';
import type { OverviewAnswer, OverviewResponse, SiteOverview } from '../../protocol/overview.ts';
import { counterDays, siteDays, siteFootfall } from './footfall.ts';
import { FootfallRollup } from './footfall-rollup.ts';
import { alarmsBySite, deviceHealth, emptyAlarms, occupancyOf } from './figures.ts';

/** The response KPI's window: the week before now. */
export const RESPONSE_WINDOW_MS = 7 * 86_400_000;

export interface OverviewDeps {
  sites: { list(): Site[] };
  registry: Pick<DeviceLookup, 'devicesOfSite'>;
  twin: TwinReader;
  events: EventStore;
  bus: EventBus;
  alarms: { open(): Promise<Alarm[]> };
  kpis: ResponseKpis;
  logger: Logger;
  now: () => number;
}

export class ChainOverview {
  private readonly rollup: FootfallRollup;
  private countersBySite: Map<string, Counter[]> | null = null;
  private readonly unsubscribe: Array<() => void> = [];

  constructor(private readonly deps: OverviewDeps) {
    this.rollup = new FootfallRollup({ events: deps.events, bus: deps.bus, now: deps.now });
  }

  start(): void {
    this.rollup.start();
    for (const event of ['device.registered', 'device.updated', 'device.removed'] as const) {
      const forget = () => (this.countersBySite = null);
      this.deps.bus.on(event, forget);
      this.unsubscribe.push(() => this.deps.bus.off(event, forget));
    }
    // The first overview after a start would read two whole days of every counter: do it now.
    this.footfall(this.deps.sites.list(), this.deps.now()).catch((err: unknown) => this.deps.logger.warn({ err }, 'overview footfall warm-up failed'));
  }

  stop(): Promise<void> {
    for (const off of this.unsubscribe.splice(0)) off();
    return this.rollup.stop();
  }

  /** Every site `user` may see, in catalogue order. */
  async overview(user: Pick<UserRecord, 'role' | 'sites'>): Promise<OverviewAnswer> {
    const now = this.deps.now();
    const sites = visibleSites(user, this.deps.sites.list());
    const withResponse = can(user.role, 'kpis:read');
    const [open, footfall, response] = await Promise.all([this.deps.alarms.open(), this.footfall(sites, now), withResponse ? this.response(sites, now) : null]);
    const alarms = alarmsBySite(open);
    return {
      at: new Date(now).toISOString(),
      response: response !== null,
      sites: sites.map((site): SiteOverview => {
        const state = this.deps.twin.siteState(site.id);
        return {
          site: site.id,
          name: site.name,
          kind: site.kind,
          timezone: site.timezone,
          footfall: footfall.get(site.id) ?? null,
          occupancy: occupancyOf(state),
          alarms: alarms.get(site.id) ?? emptyAlarms(),
          devices: deviceHealth(state, now),
          response: response ? (response.get(site.id) ?? { alarms: 0, ackWithinTargetShare: null }) : null,
        };
      }),
    };
  }

  /** Sites with counters → their footfall, from one rollup read for all of them. */
  private async footfall(sites: readonly Site[], now: number): Promise<Map<string, NonNullable<SiteOverview['footfall']>>> {
    const countersBySite = this.counters(sites);
    const plans = sites.flatMap((site) => {
      const counters = countersBySite.get(site.id) ?? [];
      if (counters.length === 0) return [];
      const days = siteDays(site.timezone, now);
      return [{ site: site.id, days, wanted: counterDays(counters, days) }];
    });
    const minutes = await this.rollup.read(plans.flatMap((p) => p.wanted));
    const out = new Map<string, NonNullable<SiteOverview['footfall']>>();
    let at = 0;
    for (const p of plans) {
      out.set(p.site, siteFootfall(p.days, minutes.slice(at, at + p.wanted.length)));
      at += p.wanted.length;
    }
    return out;
  }

  /**
   * Each site's counters, kept until a device is registered, changed or removed: not worked
   * out again for every request.
   */
  private counters(sites: readonly Site[]): Map<string, Counter[]> {
    // A site the map has not seen (a site file added since) makes it read again.
    if (this.countersBySite && sites.every((s) => this.countersBySite?.has(s.id))) return this.countersBySite;
    this.countersBySite = new Map(this.deps.sites.list().map((site) => [site.id, countersOf(site, this.deps.registry)]));
    return this.countersBySite;
  }

  /** Share acknowledged within target over the last week, by site; none when the week is too large to read. */
  private async response(sites: readonly Site[], now: number): Promise<Map<string, OverviewResponse> | null> {
    try {
      const report = await this.deps.kpis.report({ sites: sites.map((s) => s.id), fromMs: now - RESPONSE_WINDOW_MS, toMs: now, by: 'site' });
      return new Map(report.groups.flatMap((g) => (g.key === null ? [] : [[g.key, { alarms: g.alarms, ackWithinTargetShare: g.ackWithinTargetShare }] as const])));
    } catch (err) {
      if (err instanceof StoreTwinError && err.code === 'STW_ERR_QUERY_TOO_LARGE') return null;
      throw err;
    }
  }
}
