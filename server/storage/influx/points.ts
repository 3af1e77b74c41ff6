/**
 * A batch of events → the InfluxDB points that store it (schema.ts): each event's `events`
 * point, a `receipts` point when it has a seq, a `device_health` point for a heartbeat with
 * battery or radio readings, a `footfall` point for a count. The whole batch is checked and
 * converted before anything is written, so a bad event refuses the batch with nothing stored.
 */
import type { IPoint } from 'influx';
import { StoreTwinError } from '../../errors.ts';
import { isoToMs } from '../sqlite/time.ts';
import type { NewEvent } from '../types.ts';
import { DEVICE_HEALTH, EVENTS, FOOTFALL, HEALTH_FIELDS, RECEIPTS } from './schema.ts';
import type { EventStamps } from './stamps.ts';
import { checkStorableMs, pointNs } from './time.ts';

/**
 * A tag value line protocol carries intact: the client escapes commas, spaces and equals signs,
 * but an empty value is a syntax error, a line break ends the point, and a trailing backslash
 * escapes the comma after it (InfluxDB 1.6 answers "invalid tag format").
 */
function tagValue(value: string, tag: string): string {
  if (typeof value !== 'string' || value === '' || /[\n\r]/.test(value) || value.endsWith('\\')) {
    throw new StoreTwinError('STW_ERR_VALIDATION', `${tag} must be a non-empty string without line breaks or a trailing backslash to be an InfluxDB tag`, { [tag]: value });
  }
  return value;
}

function seqOf(e: NewEvent): number | null {
  if (e.seq === null || e.seq === undefined) return null;
  if (!Number.isSafeInteger(e.seq)) throw new StoreTwinError('STW_ERR_VALIDATION', 'seq must be an integer', { seq: e.seq });
  return e.seq;
}

/** The event's own numeric fields (heartbeat readings, counts), by name. */
function numberIn(e: NewEvent, field: string): number | undefined {
  const value = (e.data as unknown as Record<string, unknown>)[field];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function healthPoint(e: NewEvent, tags: Record<string, string>, timestamp: string): IPoint | null {
  if (e.type !== 'heartbeat') return null;
  const fields: Record<string, number> = {};
  for (const [eventField, column] of Object.entries(HEALTH_FIELDS)) {
    const value = numberIn(e, eventField);
    if (value !== undefined) fields[column] = value;
  }
  if (Object.keys(fields).length === 0) return null;
  const { site, device, device_type, zone } = tags as Record<'site' | 'device' | 'device_type' | 'zone', string>;
  return { measurement: DEVICE_HEALTH, tags: { site, device, device_type, zone }, fields, timestamp };
}

function footfallPoint(e: NewEvent, tags: Record<string, string>, timestamp: string): IPoint | null {
  if (e.type !== 'count') return null;
  const entered = numberIn(e, 'in');
  const left = numberIn(e, 'out');
  if (!Number.isSafeInteger(entered) || !Number.isSafeInteger(left)) return null;
  const { site, device, zone } = tags as Record<'site' | 'device' | 'zone', string>;
  return { measurement: FOOTFALL, tags: { site, device, zone }, fields: { in: entered, out: left }, timestamp };
}

/** The points of one event; throws STW_ERR_VALIDATION. */
function eventPoints(e: NewEvent, stamps: EventStamps, oldestMs: number): IPoint[] {
  const tsMs = isoToMs(e.ts, 'ts');
  const receivedMs = isoToMs(e.receivedAt, 'receivedAt');
  checkStorableMs(tsMs, 'ts', oldestMs);
  checkStorableMs(receivedMs, 'receivedAt', oldestMs);
  const seq = seqOf(e);
  const tags = {
    site: tagValue(e.site, 'site'),
    device: tagValue(e.device, 'device'),
    device_type: tagValue(e.deviceType, 'deviceType'),
    zone: tagValue(e.zone, 'zone'),
    type: tagValue(e.type, 'type'),
  };
  const { id, tie } = stamps.next();
  const timestamp = pointNs(tsMs, tie).toString();
  const fields = { data: JSON.stringify(e.data), received_at: receivedMs, id, ...(seq === null ? {} : { seq }) };
  const points: IPoint[] = [{ measurement: EVENTS, tags, fields, timestamp }];
  if (seq !== null) points.push({ measurement: RECEIPTS, tags: { device: tags.device }, fields: { seq }, timestamp: pointNs(receivedMs, tie).toString() });
  for (const extra of [healthPoint(e, tags, timestamp), footfallPoint(e, tags, timestamp)]) if (extra) points.push(extra);
  return points;
}

/**
 * Every point of the batch, or STW_ERR_VALIDATION naming the first bad event. `oldestMs`: the
 * raw retention policy's horizon (InfluxDB drops older points, which would break all or nothing).
 */
export function batchPoints(events: readonly NewEvent[], stamps: EventStamps, oldestMs: number): IPoint[] {
  const points: IPoint[] = [];
  events.forEach((e, index) => {
    try {
      points.push(...eventPoints(e, stamps, oldestMs));
    } catch (err) {
      if (err instanceof StoreTwinError) throw new StoreTwinError(err.code, `event ${index} of the batch: ${err.message}`, err.detail);
      throw err;
    }
  });
  return points;
}
