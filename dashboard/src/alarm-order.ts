/** Open alarms by severity (critical first), then age (oldest first: it has waited longest). */
import { SEVERITIES, type Alarm } from '../../server/alarms/types.ts';

export function sortAlarms(alarms: Iterable<Alarm>): Alarm[] {
  return [...alarms].sort((a, b) => SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity) || Date.parse(a.firstAt) - Date.parse(b.firstAt));
}

export function isOpen(alarm: Alarm): boolean {
  return alarm.state !== 'cleared';
}
