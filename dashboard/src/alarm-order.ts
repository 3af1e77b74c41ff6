/** Open alarms by severity (critical first), then age (oldest first: it has waited longest). */
import { SEVERITIES, type Alarm } from '../../server/alarms/types.ts';

export function sortAlarms(alarms: Iterable<Alarm>): Alarm[] {
  return [...alarms].sort((a, b) => SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity) || Date.parse(a.firstAt) - Date.parse(b.firstAt));
}

/**
 * Still someone's business: not closed out (acknowledged and cleared). A cleared alarm nobody
 * acknowledged stays, so a door opened and closed at night is not gone before anyone saw it.
 */
export function isOpen(alarm: Pick<Alarm, 'state' | 'acknowledged'>): boolean {
  return !(alarm.state === 'cleared' && alarm.acknowledged);
}
