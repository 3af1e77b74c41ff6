/**
 * A platform's named fields → canonical events. Carrier platforms hand over a device's report
 * as named values: a CTWing product profile decodes it into `serviceData` (`RSRP`,
 * `Battery_Level`, `Alarm_Status`…), a OneNET device writes data streams (`ds_id` → value), a
 * DTU sends a list of numbered data points. A field map, part of the integration's settings,
 * says which field is which canonical value. Shared by the CTWing and OneNET adapters, in
 * both directions: `mapFields` for parse, `unmapEvents` for render.
 *
 * Values are checked against the same ranges as the device schemas (devices/shared/*), field
 * by field: one field out of range (a profile reporting RSRP 0 for "unknown") is skipped and
 * named, and the rest of the report still counts.
 */
import { z } from 'zod';
import { batteryField } from '../../../devices/shared/battery.ts';
import { batteryPctField } from '../../../devices/shared/heartbeat.ts';
import { rsrpField, signalFields, snrField } from '../../../devices/shared/signal.ts';
import type { DeviceEvent, DoorState, HeartbeatEvent } from '../../../devices/types.ts';

/** Heartbeat fields a platform field can feed. */
export const NUMERIC_TARGETS = ['battery', 'batteryPct', 'rsrp', 'snr', 'csq', 'cellId', 'pci', 'ecl'] as const;
export type NumericTarget = (typeof NUMERIC_TARGETS)[number];

/** Each target's canonical range: the device schemas' own fields, so the two cannot disagree. */
const RANGES: Readonly<Record<NumericTarget, z.ZodType<number | undefined>>> = {
  battery: batteryField,
  batteryPct: batteryPctField,
  rsrp: rsrpField,
  snr: snrField,
  csq: signalFields.csq,
  cellId: signalFields.cellId,
  pci: signalFields.pci,
  ecl: signalFields.ecl,
};

/** A platform value as the key of a value map: `1`, `"1"` and `1.0` are all "1". */
const valueKeySchema = z.string().min(1).max(32);

export const fieldRuleSchema = z.discriminatedUnion('to', [
  z
    .object({
      to: z.literal('door'),
      /** Platform value (as text) → door state; a value not listed is skipped, never guessed. */
      values: z.record(valueKeySchema, z.enum(['open', 'closed'])),
    })
    .strict(),
  z
    .object({
      to: z.literal('tamper'),
      values: z.record(valueKeySchema, z.boolean()),
    })
    .strict(),
  z
    .object({
      to: z.enum(NUMERIC_TARGETS),
      /** Multiplies the value: 0.001 for millivolts → volts, 0.1 for RSRP in tenths of a dB. */
      scale: z.number().positive().finite().optional(),
      /**
       * The platform reports a magnitude of a value that is always negative (NB-IoT profiles
       * send RSRP 114 for -114 dBm): the result is -|value|, so a profile that already sends
       * -114 is read the same.
       */
      negative: z.boolean().optional(),
      /** Text values in hex (a modem's cell id as `"0A1B2C3D"`); numbers are taken as they are. */
      radix: z.union([z.literal(10), z.literal(16)]).optional(),
    })
    .strict(),
]);
export type FieldRule = z.infer<typeof fieldRuleSchema>;
export type FieldMap = Readonly<Record<string, FieldRule>>;

/** Field names as platforms spell them; bounded so a settings document stays small. */
const fieldNameSchema = z.string().min(1).max(64);
const MAX_FIELDS = 64;

/** A field map with nothing built in (a DTU's data points, OneNET data streams). */
export const fieldMapSchema = z
  .record(fieldNameSchema, fieldRuleSchema)
  .refine((m) => Object.keys(m).length <= MAX_FIELDS, `at most ${MAX_FIELDS} fields`);

/**
 * A field map over built-in defaults: the operator's entries replace the default of the same
 * name, `null` removes one, and the rest of the defaults stay.
 */
export function fieldMapOver(defaults: FieldMap) {
  return z
    .record(fieldNameSchema, fieldRuleSchema.nullable())
    .refine((m) => Object.keys(m).length <= MAX_FIELDS, `at most ${MAX_FIELDS} fields`)
    .optional()
    .transform((overrides): Record<string, FieldRule> => {
      const merged: Record<string, FieldRule> = { ...defaults };
      for (const [name, rule] of Object.entries(overrides ?? {})) {
        if (rule === null) delete merged[name];
        else merged[name] = rule;
      }
      return merged;
    });
}

export interface MappedFields {
  /** `door`, then `tamper`, then one `heartbeat` with every numeric field; only those mapped. */
  events: DeviceEvent[];
  /** Fields in the map whose value could not be used, each with the reason (for `ignored`). */
  skipped: string[];
}

/** A value for a message: short, and never the whole of a large object. */
const show = (value: unknown): string => {
  if (Array.isArray(value)) return 'an array';
  const text = typeof value === 'object' && value !== null ? 'an object' : String(JSON.stringify(value));
  return text.length > 24 ? `${text.slice(0, 21)}...` : text;
};

/** The key a value map is looked up by; undefined for objects, arrays and non-finite numbers. */
function valueKey(value: unknown): string | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : undefined;
  if (typeof value === 'string') return value.trim();
  if (typeof value === 'boolean') return String(value);
  return undefined;
}

const DECIMAL = /^[+-]?\d{1,20}(\.\d{1,12})?$/;
const HEX = /^(0x)?[0-9a-f]{1,16}$/i;

function numberOf(value: unknown, radix: 10 | 16): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (radix === 16) return HEX.test(text) ? parseInt(text.replace(/^0x/i, ''), 16) : undefined;
  return DECIMAL.test(text) ? Number(text) : undefined;
}

/** Scaling by 0.1 leaves binary fractions (-1140 × 0.1 = -114.00000000000001). */
const tidy = (n: number): number => Math.round(n * 1e6) / 1e6;

/** The platform's fields → canonical events, through `map`. Never throws. */
export function mapFields(fields: Readonly<Record<string, unknown>>, map: FieldMap): MappedFields {
  let door: DoorState | undefined;
  let tamper: boolean | undefined;
  const heartbeat: Partial<Record<NumericTarget, number>> = {};
  const skipped: string[] = [];
  for (const [name, rule] of Object.entries(map)) {
    if (!Object.hasOwn(fields, name)) continue;
    const raw = fields[name];
    if (rule.to === 'door' || rule.to === 'tamper') {
      const key = valueKey(raw);
      const known = key !== undefined && Object.hasOwn(rule.values, key);
      if (!known) {
        skipped.push(`${name}: ${show(raw)} is not in its value map`);
        continue;
      }
      if (rule.to === 'door') door = rule.values[key];
      else tamper = rule.values[key];
      continue;
    }
    const n = numberOf(raw, rule.radix ?? 10);
    if (n === undefined) {
      skipped.push(`${name}: ${show(raw)} is not a number`);
      continue;
    }
    let value = tidy(n * (rule.scale ?? 1));
    if (rule.negative) value = -Math.abs(value);
    if (!RANGES[rule.to].safeParse(value).success) {
      skipped.push(`${name}: ${show(raw)} is outside the range of ${rule.to}`);
      continue;
    }
    // The first field naming a target wins, as in `unmapEvents`.
    heartbeat[rule.to] ??= value;
  }
  const events: DeviceEvent[] = [];
  if (door !== undefined) events.push({ type: 'door', state: door });
  if (tamper !== undefined) events.push({ type: 'tamper', active: tamper });
  if (Object.keys(heartbeat).length > 0) events.push({ type: 'heartbeat', ...heartbeat });
  return { events, skipped };
}

/** A value map's key as the platform would send it: numbers as numbers, the rest as text. */
function platformValue(key: string): string | number | boolean {
  if (/^-?\d{1,15}$/.test(key)) return Number(key);
  if (key === 'true' || key === 'false') return key === 'true';
  return key;
}

function keyFor<V>(values: Readonly<Record<string, V>>, wanted: V): string | undefined {
  return Object.entries(values).find(([, v]) => v === wanted)?.[0];
}

/**
 * Canonical events → the platform's fields, through `map` (what a profile reporting them would
 * send). A value the map cannot carry (volts when the profile reports a percentage, a motion
 * event) is left out, as the platform would; throws a RangeError when nothing at all can be
 * carried or two events disagree on one field.
 */
export function unmapEvents(events: readonly DeviceEvent[], map: FieldMap): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  const put = (name: string, value: string | number | boolean): void => {
    if (Object.hasOwn(out, name) && out[name] !== value) {
      throw new RangeError(`two events set field ${name} differently: render them as separate messages`);
    }
    out[name] = value;
  };
  const rules = Object.entries(map);
  for (const event of events) {
    const door = event.type === 'door' ? event.state : event.type === 'heartbeat' ? event.door : undefined;
    if (door !== undefined) {
      for (const [name, rule] of rules) {
        if (rule.to !== 'door') continue;
        const key = keyFor(rule.values, door);
        if (key !== undefined) put(name, platformValue(key));
        break;
      }
    }
    if (event.type === 'tamper') {
      for (const [name, rule] of rules) {
        if (rule.to !== 'tamper') continue;
        const key = keyFor(rule.values, event.active);
        if (key !== undefined) put(name, platformValue(key));
        break;
      }
    }
    if (event.type !== 'heartbeat') continue;
    const values: HeartbeatEvent = event;
    // The first field naming a target carries it, as `mapFields` reads it back.
    const carried = new Set<NumericTarget>();
    for (const [name, rule] of rules) {
      if (rule.to === 'door' || rule.to === 'tamper' || carried.has(rule.to)) continue;
      const v = values[rule.to];
      if (v === undefined) continue;
      carried.add(rule.to);
      const n = tidy((rule.negative ? Math.abs(v) : v) / (rule.scale ?? 1));
      put(name, rule.radix === 16 ? Math.round(n).toString(16).toUpperCase() : n);
    }
  }
  if (Object.keys(out).length === 0) {
    throw new RangeError(`the field map carries nothing of these events (${events.map((e) => e.type).join(', ') || 'none'})`);
  }
  return out;
}

/** `a, b, c, … (12 in all)`: the fields a push had, for an `ignored` reason an operator can act on. */
export function listFields(fields: Readonly<Record<string, unknown>>): string {
  const names = Object.keys(fields);
  const shown = names.slice(0, 8).map((n) => (n.length > 32 ? `${n.slice(0, 29)}...` : n));
  return names.length > shown.length ? `${shown.join(', ')}, ... (${names.length} in all)` : shown.join(', ') || 'none';
}
