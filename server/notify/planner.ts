/**
 * Who hears about an alarm change. Called by the alarm service inside its transaction.
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
 * "Already told" is read from the outbox (routes with a delivery for the alarm) so a clear
 * reaches the person who got the alarm even when their on-call window has ended since.
 */
import type { Alarm, AlarmAction } from '../alarms/types.ts';
import type { NotifyConfig, Route } from './config.ts';
import { inWindows } from './hours.ts';
import { renderPayload } from './render.ts';
import type { DeliveryPlanner, NewDelivery } from './types.ts';

export const DEFAULT_TIMEZONE = 'Asia/Shanghai';

export interface RoutePlannerOptions {
  config: NotifyConfig;
  /** The site model's time zone (config `timezone` overrides it). */
  timezoneOf?: (site: string) => string | undefined;
  /** Routes already notified for an alarm (SqliteOutbox#routesFor). */
  notifiedRoutes?: (alarm: string) => readonly string[];
  /** Base URL for relative snapshot links in messages. */
  publicUrl?: string;
}

export function idempotencyKey(alarm: string, action: AlarmAction, level: number, route: string): string {
  return `${alarm}:${action}:${level}:${route}`;
}

export class RoutePlanner implements DeliveryPlanner {
  constructor(private readonly opts: RoutePlannerOptions) {}

  private timezone(site: string): string {
    return this.opts.config.timezone(site) ?? this.opts.timezoneOf?.(site) ?? DEFAULT_TIMEZONE;
  }

  private matches(route: Route, alarm: Alarm, now: number): boolean {
    return route.severities.includes(alarm.severity) && inWindows(route.hours, this.timezone(alarm.site), now);
  }

  /** Routes for a notification of `action` at `level`. */
  routesFor(alarm: Alarm, action: AlarmAction, level: number, now: number): Route[] {
    const { config } = this.opts;
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
        return alarm.snapshot?.status === 'attached' ? this.alreadyTold(alarm) : [];
      case 'acknowledged':
      case 'cleared':
        return this.alreadyTold(alarm);
      default:
        return [];
    }
  }

  private alreadyTold(alarm: Alarm): Route[] {
    const { config } = this.opts;
    if (this.opts.notifiedRoutes) {
      return this.opts.notifiedRoutes(alarm.id).map((id) => config.route(alarm.site, id)).filter((r): r is Route => r !== undefined);
    }
    // Without the outbox to ask: everyone the alarm's severity and escalation level reached.
    const escalationOnly = new Set(config.escalation(alarm.site).flatMap((l) => l.routes));
    const ids = new Set(config.routes(alarm.site).filter((r) => !escalationOnly.has(r.id) && r.severities.includes(alarm.severity)).map((r) => r.id));
    config.escalation(alarm.site).slice(0, alarm.escalationLevel).forEach((l) => l.routes.forEach((id) => ids.add(id)));
    return [...ids].map((id) => config.route(alarm.site, id)).filter((r): r is Route => r !== undefined);
  }

  plan(alarm: Alarm, action: AlarmAction, opts: { level: number; now: number }): NewDelivery[] {
    const timezone = this.timezone(alarm.site);
    return this.routesFor(alarm, action, opts.level, opts.now).map((route) => ({
      idempotencyKey: idempotencyKey(alarm.id, action, opts.level, route.id),
      alarm: alarm.id,
      site: alarm.site,
      channel: route.channel,
      route: route.id,
      payload: renderPayload(route, { alarm, action, level: opts.level, language: route.language, timezone, publicUrl: this.opts.publicUrl }),
      nextAttemptAt: opts.now,
    }));
  }
}
