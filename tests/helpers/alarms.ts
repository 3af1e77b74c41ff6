/**
 * Alarms put straight into an alarm store, as they would be after some history (cleared,
 * acknowledged…), for tests of what reads them: one `create` each, with its history.
 */
import type { AlarmStore } from '../../server/alarms/store.ts';
import type { Alarm } from '../../server/alarms/types.ts';

export async function putAlarms(store: Pick<AlarmStore, 'commit'>, alarms: readonly Alarm[]): Promise<void> {
  const outcome = await store.commit({ writes: alarms.map((a) => ({ kind: 'create' as const, alarm: a, history: a.history })), deliveries: [], now: 0 });
  if (outcome !== 'committed') throw new Error('putAlarms: a live alarm of the same (rule, source) is already stored');
}
