/**
 * The overview's per-site figures that need no storage read, from what other features already
 * keep: device health and occupancy from the twin's live state, open alarms from the alarm
 * store's one list of alarms not closed out. Pure: state in, figures out.
 *
 * Device health follows the built-in rules (rules/default.yaml) so the overview and the alarms
 * agree: low battery below 2.7 V or 15 % (low-battery, low-battery-percent), silent past twice
 * the type's heartbeat interval (device-silent, factor 2); asked of the type's capabilities,
 * never its id.
 */
import { deviceTypeHas, getDeviceType } from '../../devices/index.ts';
import type { OverviewAlarms, OverviewDevices, OverviewOccupancy, OverviewSeverity } from '../../protocol/overview.ts';
import { SEVERITIES, type Alarm, type Severity } from '../alarms/types.ts';
import type { DeviceState, SiteState } from '../twin/types.ts';

export const LOW_BATTERY_VOLTS = 2.7;
export const LOW_BATTERY_PERCENT = 15;
export const SILENT_FACTOR = 2;

// The wire's severities are the server's: assignable both ways, or this does not compile.
const severities: readonly OverviewSeverity[] = SEVERITIES;
export const OVERVIEW_SEVERITIES: readonly Severity[] = severities;

export function isLowBattery(d: Pick<DeviceState, 'type' | 'battery' | 'batteryPct'>): boolean {
  if (!deviceTypeHas(d.type, 'battery')) return false;
  return (d.battery !== null && d.battery < LOW_BATTERY_VOLTS) || (d.batteryPct !== null && d.batteryPct < LOW_BATTERY_PERCENT);
}

/** Never heard, or quiet for longer than the device-silent rule allows (types that promise a heartbeat). */
export function isSilent(d: Pick<DeviceState, 'type' | 'lastSeen'>, now: number): boolean {
  if (!deviceTypeHas(d.type, 'heartbeat')) return false;
  const interval = getDeviceType(d.type)?.heartbeatIntervalS;
  if (!interval) return false;
  return d.lastSeen === null || now - Date.parse(d.lastSeen) > SILENT_FACTOR * interval * 1000;
}

export function deviceHealth(state: SiteState | null, now: number): OverviewDevices {
  const out: OverviewDevices = { total: 0, offline: 0, lowBattery: 0, silent: 0 };
  for (const d of Object.values(state?.devices ?? {})) {
    out.total++;
    if (d.online === false) out.offline++;
    if (isLowBattery(d)) out.lowBattery++;
    if (isSilent(d, now)) out.silent++;
  }
  return out;
}

/** People inside the halls whose occupancy is counted; null when no hall of the site is. */
export function occupancyOf(state: SiteState | null): OverviewOccupancy | null {
  let counted = false;
  let inside = 0;
  let capacity: number | null = null;
  for (const z of Object.values(state?.zones ?? {})) {
    if (z.occupancy === null) continue;
    counted = true;
    inside += z.occupancy;
    if (z.capacity !== null) capacity = (capacity ?? 0) + z.capacity;
  }
  return counted ? { now: inside, capacity } : null;
}

export function emptyAlarms(): OverviewAlarms {
  return { open: 0, unacknowledged: 0, bySeverity: Object.fromEntries(OVERVIEW_SEVERITIES.map((s) => [s, 0])) as Record<OverviewSeverity, number>, oldestUnacknowledgedAt: null };
}

/** Alarms not closed out (AlarmService.open(), all sites in one query), by site. */
export function alarmsBySite(open: readonly Alarm[]): Map<string, OverviewAlarms> {
  const bySite = new Map<string, OverviewAlarms>();
  for (const a of open) {
    let f = bySite.get(a.site);
    if (!f) bySite.set(a.site, (f = emptyAlarms()));
    f.open++;
    f.bySeverity[a.severity]++;
    if (!a.acknowledged) {
      f.unacknowledged++;
      if (f.oldestUnacknowledgedAt === null || Date.parse(a.firstAt) < Date.parse(f.oldestUnacknowledgedAt)) f.oldestUnacknowledgedAt = a.firstAt;
    }
  }
  return bySite;
}
