/**
 * Who hears about an alarm change. Called by the alarm service as it decides the change; the
 * deliveries commit with it.
 *
 * - raised: level 0, the site's routes whose severities include the alarm's and whose
 *   on-call hours include now, except routes named in an escalation level (those are told
 *   only when their level is reached — otherwise escalating to them would mean nothing);
 * - escalated (level n ≥ 1): the routes of escalation level n, with the same filters;
 * - snapshot (only once attached): an update to everyone already told about the alarm;
 * - acknowledged, cleared: a short follow-up to everyone already told;
 * - repeated, commented: nothing. A repeat only counts up the open alarm (the count shows in
 *   the next message and on the dashboard); notifying each one would flood a phone with the
 *   same door. So the key `${alarm}:${action}:${level}:${route}` is unique without a counter.
 *
 * "Already told" is what the outbox holds (routes with a delivery for the alarm), read by the
 * alarm service and passed in (`notified`), so a clear reaches the person who got the alarm
 * even when their on-call window has ended since.
 *
 * The routes are those of the notify config in force: setConfig() swaps it when notify.yaml
 * is reloaded (server/notify/config-file.ts), and the next plan uses the new routes.
 */
import type { Alarm, AlarmAction } from '../alarms/types.ts';
import type { Localized } from '../sites/model.ts';
import type { NotifyConfig, Route } from './config.ts';
import { inWindows } from './hours.ts';
import { renderPayload, type PlaceNames } from './render.ts';
import type { DeliveryPlanner, NewDelivery, PlanOptions } from './types.ts';

export const DEFAULT_TIMEZONE = 'Asia/Shanghai';

export interface RoutePlannerOptions {
  config: NotifyConfig;
  /** The site model's time zone (config `timezone` overrides it). */
  timezoneOf?: (site: string) => string | undefined;
  /** Routes already notified for an alarm, when plan() is not told them (`notified`). */
  notifiedRoutes?: (alarm: string) => readonly string[];
  /** Config `publicUrl`: the base of the links in messages (the picture, the alarm); absent = relative links. */
  publicUrl?: string;
  /** Display names of sites, floors, zones and devices (SiteCatalog); without it messages show ids. */
  sites?: SiteNames;
}

/** What the planner reads of the site catalogue to name places. SiteCatalog satisfies it. */
export interface SiteNames {
  get(site: string): { name: Localized } | undefined;
  zone(site: string, zone: string): { zone: { name: Localized }; floor: { name: Localized } } | undefined;
  placement(site: string, device: string): { label?: string } | undefined;
}

/** Where the alarm is, by display name; whatever the catalogue does not know stays out (the id is shown). */
export function placeNames(sites: SiteNames | undefined, alarm: Pick<Alarm, 'site' | 'zone' | 'device'>): PlaceNames {
  if (!sites) return {};
  const place: PlaceNames = {};
  const site = sites.get(alarm.site);
  if (site) place.site = site.name;
  const zone = alarm.zone === null ? undefined : sites.zone(alarm.site, alarm.zone);
  if (zone) {
    place.floor = zone.floor.name;
    place.zone = zone.zone.name;
  }
  const label = alarm.device === null ? undefined : sites.placement(alarm.site, alarm.device)?.label;
  if (label) place.device = label;
  return place;
}

export function idempotencyKey(alarm: string, action: AlarmAction, level: number, route: string): string {
  return `${alarm}:${action}:${level}:${route}`;
}

export class RoutePlanner implements DeliveryPlanner {
  private config: NotifyConfig;

  constructor(private readonly opts: RoutePlannerOptions) {
    this.config = opts.config;
  }

  /** Plans with `config` from now on (notify.yaml was reloaded). */
  setConfig(config: NotifyConfig): void {
    this.config = config;
  }

  /** The time zone messages and on-call hours of `site` use: the notify config's, else the site model's. */
  timezone(site: string): string {
    return this.config.timezone(site) ?? this.opts.timezoneOf?.(site) ?? DEFAULT_TIMEZONE;
  }

  private matches(route: Route, alarm: Alarm, now: number): boolean {
    return route.severities.includes(alarm.severity) && inWindows(route.hours, this.timezone(alarm.site), now);
  }

  /** Routes for a notification of `action` at `level`. */
  routesFor(alarm: Alarm, action: AlarmAction, level: number, now: number, notified?: readonly string[]): Route[] {
    const { config } = this;
    switch (action) {
      case 'raised': {
        const escalationOnly = new Set(config.escalation(alarm.site).flatMap((l) => l.routes));
        return config.routes(alarm.site).filter((r) => !escalationOnly.has(r.id) && this.matches(r, alarm, now));
      }
      case 'escalated': {
        const ids = config.escalation(alarm.site)[level - 1]?.routes ?? [];
        return ids.map((id) => config.route(alarm.site, id)).filter((r): r is Route => r !== undefined && this.matches(r, alarm, now));
      }
      case 'snapshot':
        return alarm.snapshot?.status === 'attached' ? this.alreadyTold(alarm, notified) : [];
      case 'acknowledged':
      case 'cleared':
        return this.alreadyTold(alarm, notified);
      default:
        return [];
    }
  }

  private alreadyTold(alarm: Alarm, notified: readonly string[] | undefined): Route[] {
    const { config } = this;
    const told = notified ?? this.opts.notifiedRoutes?.(alarm.id);
    if (told !== undefined) {
      return told.map((id) => config.route(alarm.site, id)).filter((r): r is Route => r !== undefined);
    }
    // Without the outbox to ask: everyone the alarm's severity and escalation level reached.
    const escalationOnly = new Set(config.escalation(alarm.site).flatMap((l) => l.routes));
    const ids = new Set(config.routes(alarm.site).filter((r) => !escalationOnly.has(r.id) && r.severities.includes(alarm.severity)).map((r) => r.id));
    config.escalation(alarm.site).slice(0, alarm.escalationLevel).forEach((l) => l.routes.forEach((id) => ids.add(id)));
    return [...ids].map((id) => config.route(alarm.site, id)).filter((r): r is Route => r !== undefined);
  }

  plan(alarm: Alarm, action: AlarmAction, opts: PlanOptions): NewDelivery[] {
    const timezone = this.timezone(alarm.site);
    const place = placeNames(this.opts.sites, alarm);
    return this.routesFor(alarm, action, opts.level, opts.now, opts.notified).map((route) => ({
      idempotencyKey: idempotencyKey(alarm.id, action, opts.level, route.id),
      alarm: alarm.id,
      site: alarm.site,
      channel: route.channel,
      route: route.id,
      payload: renderPayload(route, { alarm, action, level: opts.level, language: route.language, timezone, publicUrl: this.opts.publicUrl, place }),
      nextAttemptAt: opts.now,
    }));
  }
}
