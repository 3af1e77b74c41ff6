/**
 * Which alarms the consoles show, in what order, and what each one's standing is: one place,
 * so the desk (/), the phone page (/m) and the side panel agree.
 */
import { SEVERITIES, type Alarm, type Severity } from '../../server/alarms/types.ts';

/** Open alarms by severity (critical first), then age (oldest first: it has waited longest). */
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

/**
 * Where an alarm stands, as the console shows it:
 * - `active`: the condition holds, nobody acknowledged it;
 * - `restored`: latched, the condition is back to normal, nobody acknowledged it (it stays);
 * - `acknowledged`: someone is on it, the condition still holds;
 * - `cleared-unacknowledged`: the condition ended by itself before anyone saw it;
 * - `closed`: acknowledged and cleared (gone from the live console).
 */
export type AlarmPhase = 'active' | 'restored' | 'acknowledged' | 'cleared-unacknowledged' | 'closed';

export function phaseOf(alarm: Pick<Alarm, 'state' | 'acknowledged' | 'restoredAt'>): AlarmPhase {
  if (alarm.state === 'cleared') return alarm.acknowledged ? 'closed' : 'cleared-unacknowledged';
  if (alarm.acknowledged) return 'acknowledged';
  return alarm.restoredAt !== null ? 'restored' : 'active';
}

/** Severities whose tone repeats until someone acknowledges (ISA-18.2: the horn stops on acknowledgement). */
export const TONE_SEVERITIES: readonly Severity[] = ['critical', 'major'];

/** Calls for the tone: open, unacknowledged, critical or major. */
export function needsTone(alarm: Pick<Alarm, 'state' | 'acknowledged' | 'severity'>): boolean {
  return isOpen(alarm) && !alarm.acknowledged && TONE_SEVERITIES.includes(alarm.severity);
}

/** How many of them nobody has acknowledged yet (the console's badge). */
export function unacknowledged(alarms: Iterable<Pick<Alarm, 'state' | 'acknowledged'>>): number {
  let n = 0;
  for (const a of alarms) if (isOpen(a) && !a.acknowledged) n++;
  return n;
}
