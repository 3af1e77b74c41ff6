/**
 * The JSON wire format shared by every device type: UTF-8 JSON text holding one event object
 * (or an array of them, for devices that batch). Decoding never throws; every refusal carries
 * a code from the error catalogue and a message a technician can act on.
 */
import { z } from 'zod';
import { StoreTwinError } from '../../server/errors.ts';
import type { DecodeErrorCode, DecodeResult, DeviceEvent, DeviceEventType, PayloadFormat } from '../types.ts';

/** Per-device message counter; devices wrap it at 65535 but the wire format does not care. */
export const seqSchema = z.number().int().min(0);
/** ISO 8601 with a zone (Z or ±hh:mm): a local time without one cannot be placed on the timeline. */
export const tsSchema = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time with Z or an offset' });

/** Fields every event may carry. Objects are not `.strict()`: unknown fields from newer firmware are dropped, not refused. */
export const eventFields = {
  seq: seqSchema.optional(),
  ts: tsSchema.optional(),
};

/**
 * Events one JSON array may carry. A device batches what queued up while its radio slept (an
 * NB-IoT sensor in PSM, a counter that missed a few uploads): a handful of events, rarely
 * more. Without a cap an 8 KiB message of ~20-byte events is ~400 events, each validated and
 * stored for the price of one PUBACK. 32 holds half an hour of a footfall counter's minute
 * counts and keeps one message's share of a group commit small. Counted before any item is
 * validated, so an over-long array costs only its JSON.parse.
 */
export const MAX_EVENTS_PER_MESSAGE = 32;

export interface JsonCodec {
  /** Device type id, for messages. */
  typeId: string;
  events: readonly DeviceEventType[];
  schema: z.ZodType<DeviceEvent>;
}

export function refuse(code: DecodeErrorCode, message: string): DecodeResult & { ok: false } {
  return { ok: false, code, message };
}

/**
 * `state: Invalid option…; battery: Too big…` — one line, paths included; every problem, or the
 * first `max` and how many more (a platform's push can hold hundreds of wrong fields).
 */
export function describeIssues(error: z.ZodError, max = Number.POSITIVE_INFINITY): string {
  const shown = error.issues.slice(0, max).map((issue) => {
    const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.');
    return path ? `${path}: ${issue.message}` : issue.message;
  });
  const more = error.issues.length - shown.length;
  return shown.join('; ') + (more > 0 ? `; and ${more} more` : '');
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function decodeOne(value: unknown, codec: JsonCodec, where: string): DeviceEvent | (DecodeResult & { ok: false }) {
  if (!isRecord(value)) return refuse('STW_ERR_PAYLOAD_SCHEMA', `${where}must be a JSON object`);
  const type = value.type;
  if (typeof type !== 'string') return refuse('STW_ERR_PAYLOAD_SCHEMA', `${where}type: required string`);
  if (!(codec.events as readonly string[]).includes(type)) {
    return refuse(
      'STW_ERR_EVENT_UNSUPPORTED',
      `${where}a ${codec.typeId} does not send "${type.slice(0, 40)}" events (it sends ${codec.events.join(', ')})`,
    );
  }
  const parsed = codec.schema.safeParse(value);
  if (!parsed.success) return refuse('STW_ERR_PAYLOAD_SCHEMA', `${where}${type} event: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/** UTF-8 JSON text → events of this device type. Never throws. */
export function decodeJson(payload: Uint8Array, codec: JsonCodec): DecodeResult {
  let text: string;
  try {
    text = utf8.decode(payload);
  } catch {
    return refuse('STW_ERR_PAYLOAD_MALFORMED_JSON', 'payload is not valid UTF-8');
  }
  // A byte order mark is legal UTF-8 but not JSON; some gateways prepend one.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '') return refuse('STW_ERR_PAYLOAD_MALFORMED_JSON', 'payload is empty');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const reason = err instanceof Error ? err.message : 'parse error';
    return refuse('STW_ERR_PAYLOAD_MALFORMED_JSON', `payload is not valid JSON: ${reason.slice(0, 120)}`);
  }
  if (!Array.isArray(value)) {
    const one = decodeOne(value, codec, '');
    return 'ok' in one ? one : { ok: true, events: [one], format: 'json' };
  }
  if (value.length === 0) return refuse('STW_ERR_PAYLOAD_SCHEMA', 'an array of events must not be empty');
  if (value.length > MAX_EVENTS_PER_MESSAGE) {
    return refuse(
      'STW_ERR_PAYLOAD_TOO_MANY_EVENTS',
      `an array of ${value.length} events exceeds the ${MAX_EVENTS_PER_MESSAGE} one message may carry: send them in several messages`,
    );
  }
  const events: DeviceEvent[] = [];
  for (const [i, item] of value.entries()) {
    const one = decodeOne(item, codec, `[${i}] `);
    if ('ok' in one) return one;
    events.push(one);
  }
  return { ok: true, events, format: 'json' };
}

/**
 * One event → UTF-8 JSON text. The event is checked against the type's schema first so a
 * simulator bug shows up at the source, not as a refusal at ingest.
 */
export function encodeJson(event: DeviceEvent, codec: JsonCodec): Buffer {
  if (!codec.events.includes(event.type)) {
    throw new StoreTwinError('STW_ERR_EVENT_UNSUPPORTED', `a ${codec.typeId} does not send "${event.type}" events`);
  }
  const parsed = codec.schema.safeParse(event);
  if (!parsed.success) {
    throw new StoreTwinError('STW_ERR_PAYLOAD_SCHEMA', `cannot encode ${event.type} event: ${describeIssues(parsed.error)}`);
  }
  return Buffer.from(JSON.stringify(parsed.data), 'utf8');
}

/** decode/encode for a type that speaks JSON only (cameras, footfall counters). */
export function jsonOnly(codec: JsonCodec): { decode(payload: Buffer): DecodeResult; encode(event: DeviceEvent, format: PayloadFormat): Buffer } {
  return {
    decode: (payload) => decodeJson(payload, codec),
    encode: (event, format) => {
      if (format !== 'json') throw new RangeError(`a ${codec.typeId} speaks JSON only, not ${format}`);
      return encodeJson(event, codec);
    },
  };
}
