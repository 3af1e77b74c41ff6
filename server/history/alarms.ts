/**
 * The alarms a replay window needs: every alarm of the site alive at some instant of the
 * window (raised before its end, not cleared before its start), with just what the replay's
 * alarm list and timeline marks show. Every AlarmStore (server/alarms/store.ts) answers it.
 */
import type { Severity } from '../alarms/types.ts';
import type { Localized } from '../sites/model.ts';

export interface HistoryAlarm {
  id: string;
  severity: Severity;
  zone: string | null;
  device: string | null;
  rule: string;
  message: Localized;
  firstAt: string;
  acknowledgedAt: string | null;
  clearedAt: string | null;
}

export interface AlarmWindowReader {
  /**
   * Alarms of `site` whose lifetime [firstAt, clearedAt ?? ∞) meets [fromMs, toMs], oldest
   * first, at most `limit`; only those of `categories` when given (server/alarms/category.ts).
   */
  overlapping(site: string, fromMs: number, toMs: number, limit: number, categories?: readonly string[]): Promise<HistoryAlarm[]>;
}
