/**
 * Wire types of the chain overview (渠道画像): `GET /api/overview` answers every site the
 * caller may see, one row each, in ONE request — footfall today against the same weekday last
 * week, live occupancy, open alarms, device health and (for roles with `kpis:read`) the share
 * of alarms acknowledged within target. The server builds it (server/overview/), the
 * dashboard's /overview page reads it.
 */

/** Alarm severities, most severe first (the same list as server/alarms/types.ts SEVERITIES). */
export type OverviewSeverity = 'critical' | 'major' | 'minor' | 'warning' | 'info';

/** A display name in both languages (server/sites/model.ts Localized). */
export interface OverviewName {
  en: string;
  'zh-CN': string;
}

export interface OverviewFootfall {
  /** Local dates (the site's time zone) of today and of the day compared with, `YYYY-MM-DD`. */
  date: string;
  compareDate: string;
  /** People in today so far. */
  today: number;
  /** People in on the same weekday a week ago, up to the same local time: the fair comparison. */
  lastWeekSameTime: number;
  /** The whole of that day. */
  lastWeek: number;
  /** People in per local hour (0..23) today, and on the day compared with (the sparkline). */
  hourly: number[];
  lastWeekHourly: number[];
}

export interface OverviewOccupancy {
  /** Persons inside now: the sum over the halls the counters feed. */
  now: number;
  /** The sum of those halls' capacities; null when none has one. */
  capacity: number | null;
}

export interface OverviewAlarms {
  /** Alarms not closed out (`state=open` in GET /api/alarms): open, or cleared but unacknowledged. */
  open: number;
  /** Of those, not yet acknowledged. */
  unacknowledged: number;
  bySeverity: Record<OverviewSeverity, number>;
  /** When the oldest unacknowledged one was raised (ISO 8601); null when there is none. */
  oldestUnacknowledgedAt: string | null;
}

export interface OverviewDevices {
  /** Registered devices of the site. */
  total: number;
  /** Said `offline` last (status topic, last will, broker or platform). */
  offline: number;
  /** Battery below the built-in low-battery rules' thresholds (2.7 V or 15 %). */
  lowBattery: number;
  /** Nothing heard for twice the type's heartbeat interval (the built-in device-silent rule), or never heard. */
  silent: number;
}

export interface OverviewResponse {
  /** Alarms raised in the last 7 days. */
  alarms: number;
  /** Share of them acknowledged within their severity's target, 0..1; null when none could be judged yet. */
  ackWithinTargetShare: number | null;
}

export interface SiteOverview {
  site: string;
  name: OverviewName;
  kind: string;
  timezone: string;
  /** null when the site has no footfall counter. */
  footfall: OverviewFootfall | null;
  /** null when no hall of the site has its occupancy counted. */
  occupancy: OverviewOccupancy | null;
  alarms: OverviewAlarms;
  devices: OverviewDevices;
  /** null without `kpis:read`, or when the week held more alarms than one request may read. */
  response: OverviewResponse | null;
}

export interface OverviewAnswer {
  /** When the figures were taken (ISO 8601). */
  at: string;
  /** Whether `response` was computed for this caller (its role has `kpis:read`). */
  response: boolean;
  sites: SiteOverview[];
}
