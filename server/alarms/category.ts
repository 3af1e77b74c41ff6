/**
 * Who an alarm is for, as data rather than role names. A rule names its category
 * (server/rules/schema.ts, default `operations`); the rules engine copies it into the alarm's
 * `details.category`, where it stays for the alarm's life (a repeat merges the details, so an
 * edited rule's new category reaches its open alarm with the next trigger).
 *
 * - `security`: intrusion, a door opened in an armed zone, a door opened outside hours;
 * - `device-health`: tamper, low battery, a silent or offline device — the technician's job;
 * - `operations`: everything else (a door held open, a hall over capacity).
 *
 * Permissions decide what a holder may see: `alarms:read` sees every alarm and `alarms:ack`
 * acts on every alarm (the security desk); `alarms:device-health` sees and acts on
 * device-health alarms only (technicians). Shared by the API, the live feed and the dashboard,
 * so the three cannot disagree about who sees what.
 */
import type { Alarm } from './types.ts';

export const ALARM_CATEGORIES = ['security', 'device-health', 'operations'] as const;
export type AlarmCategory = (typeof ALARM_CATEGORIES)[number];

/** Rules that do not say, and alarms raised before categories existed. */
export const DEFAULT_ALARM_CATEGORY: AlarmCategory = 'operations';

export function isAlarmCategory(value: unknown): value is AlarmCategory {
  return (ALARM_CATEGORIES as readonly unknown[]).includes(value);
}

export function categoryOf(alarm: Pick<Alarm, 'details'>): AlarmCategory {
  const value = alarm.details?.category;
  return isAlarmCategory(value) ? value : DEFAULT_ALARM_CATEGORY;
}

/** The actions of server/auth/roles.ts that decide about alarms (named here so the dashboard needs no server code). */
export type AlarmPermission = 'alarms:read' | 'alarms:ack' | 'alarms:device-health';

/** Whether the caller holds an action: `can(role, …)` on the server, `store.can` in the dashboard. */
export type HasAction = (action: AlarmPermission) => boolean;

/** May see it: `alarms:read` every alarm, `alarms:device-health` the device-health ones. */
export function mayReadAlarm(has: HasAction, alarm: Pick<Alarm, 'details'>): boolean {
  return has('alarms:read') || (has('alarms:device-health') && categoryOf(alarm) === 'device-health');
}

/** May acknowledge, clear and comment on it: `alarms:ack` every alarm, `alarms:device-health` the device-health ones. */
export function mayActOnAlarm(has: HasAction, alarm: Pick<Alarm, 'details'>): boolean {
  return has('alarms:ack') || (has('alarms:device-health') && categoryOf(alarm) === 'device-health');
}

/** May read some alarms at all (lists, the live feed's alarm rooms). */
export function mayReadAnyAlarm(has: HasAction): boolean {
  return has('alarms:read') || has('alarms:device-health');
}
