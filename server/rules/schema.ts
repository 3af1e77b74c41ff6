/**
 * Rules are data: YAML files and API bodies validated by this one schema (zod 4). Objects are
 * strict, like site files: a misspelt `zoneArmd` would otherwise be dropped silently and turn
 * an intrusion rule into one that fires on every door opening.
 */
import { z } from 'zod';
import { ALARM_CATEGORIES, DEFAULT_ALARM_CATEGORY } from '../alarms/category.ts';
import { SEVERITIES, SUPPRESSED_RULE } from '../alarms/types.ts';
import { DEVICE_TYPE_IDS, ID_PATTERN, ZONE_KINDS } from '../sites/model.ts';

export const OPS = ['eq', 'ne', 'lt', 'lte', 'gt', 'gte'] as const;
export type Op = (typeof OPS)[number];

const scalar = z.union([z.string(), z.number(), z.boolean()]);
/** `{ ref: capacity }`: compare with an attribute of the zone from the site file. */
const zoneRef = z.strictObject({ ref: z.enum(['capacity']) });

export const conditionSchema = z.strictObject({
  /** A field of the event's data (`state`, `battery`, `rsrp`, `active`, `in`…) or of the twin state. */
  field: z.string().min(1).max(64),
  op: z.enum(OPS),
  value: z.union([scalar, zoneRef]),
});
export type Condition = z.infer<typeof conditionSchema>;

/** Conditions on twin and arming state, checked when the rule's event or state change arrives. */
const stateFlags = {
  /** true: only while the zone is armed (manual override, else its schedule); false: only while disarmed. */
  zoneArmed: z.boolean().optional(),
  /** true: only zones marked `monitored` in the site file. */
  zoneMonitored: z.boolean().optional(),
};

const eventType = z.string().regex(/^[a-z][a-z0-9-]*$/, 'must be an event type such as door, heartbeat, tamper, motion, count, status');

/** An event to look for: its type and conditions on its fields (all must hold). */
export const eventMatchSchema = z.strictObject({
  event: eventType,
  where: z.array(conditionSchema).default([]),
  deviceTypes: z.array(z.enum(DEVICE_TYPE_IDS)).optional(),
});
export type EventMatch = z.infer<typeof eventMatchSchema>;

const seconds = z.number().positive().max(31 * 86400);

export const eventWhenSchema = z.strictObject({
  kind: z.literal('event'),
  event: eventType,
  where: z.array(conditionSchema).default([]),
  ...stateFlags,
  /**
   * What ends the condition (auto-clear): default, an event of the same type carrying the
   * conditions' fields with at least one of them no longer holding (door closed, tamper
   * inactive, battery back over the threshold).
   */
  clear: z.strictObject({ event: eventType.optional(), where: z.array(conditionSchema).min(1) }).optional(),
  /** What the alarm is about (dedupe key): the device (default) or its zone. */
  per: z.enum(['device', 'zone']).default('device'),
});

export const durationWhenSchema = z.strictObject({
  kind: z.literal('duration'),
  /** Whose state: the zone's (door, occupancy, lastMotionAt…) or each device's (door, online, tamper…). */
  subject: z.enum(['zone', 'device']).default('zone'),
  where: z.array(conditionSchema).min(1),
  ...stateFlags,
  seconds,
});

export const silenceWhenSchema = z.strictObject({
  kind: z.literal('silence'),
  /** Fires after heartbeatIntervalS × factor without any message from the device. */
  factor: z.number().min(1).max(100).default(2),
});

export const correlationWhenSchema = z.strictObject({
  kind: z.literal('correlation'),
  /** Both must be seen in the same zone (a camera counts for its zone and the zones it watches), in either order. */
  first: eventMatchSchema,
  second: eventMatchSchema,
  withinS: seconds,
  ...stateFlags,
});

export const countWhenSchema = z.strictObject({
  kind: z.literal('count'),
  match: eventMatchSchema,
  moreThan: z.number().int().min(0),
  windowS: seconds,
  per: z.enum(['device', 'zone']).default('zone'),
  ...stateFlags,
});

export const absenceWhenSchema = z.strictObject({
  kind: z.literal('absence'),
  match: eventMatchSchema,
  windowS: seconds,
  /** Count only time within the site's opening hours (a closed shop has no footfall). */
  duringOpeningHours: z.boolean().default(true),
});

export const openingHoursWhenSchema = z.strictObject({
  kind: z.literal('opening-hours'),
  /** Seconds after closing before a still-open door counts. */
  graceS: z.number().min(0).max(86400).default(0),
});

export const whenSchema = z.discriminatedUnion('kind', [
  eventWhenSchema,
  durationWhenSchema,
  silenceWhenSchema,
  correlationWhenSchema,
  countWhenSchema,
  absenceWhenSchema,
  openingHoursWhenSchema,
]);
export type When = z.infer<typeof whenSchema>;
export type RuleKind = When['kind'];

export const ruleSchema = z.strictObject({
  id: z
    .string()
    .regex(ID_PATTERN, 'must be lowercase letters, digits and dashes ([a-z0-9-]+)')
    .refine((id) => id !== SUPPRESSED_RULE, `"${SUPPRESSED_RULE}" is reserved for the record of alarms suppressed by maintenance`),
  /** A site id, or '*' for every site. */
  site: z.union([z.literal('*'), z.string().regex(ID_PATTERN, "must be a site id or '*'")]).default('*'),
  zones: z.array(z.string().regex(ID_PATTERN)).min(1).optional(),
  zoneKinds: z.array(z.enum(ZONE_KINDS)).min(1).optional(),
  deviceTypes: z.array(z.enum(DEVICE_TYPE_IDS)).min(1).optional(),
  /** What people read instead of the id (the console's history: "raised by rule “Door opened in armed zone”"). */
  name: z.strictObject({ en: z.string().min(1).max(100), 'zh-CN': z.string().min(1).max(100) }).optional(),
  severity: z.enum(SEVERITIES),
  /**
   * Who the alarm is for (server/alarms/category.ts): `security`, `device-health` (seen and
   * acknowledged by technicians too) or `operations`. Copied into each alarm's details.
   */
  category: z.enum(ALARM_CATEGORIES).default(DEFAULT_ALARM_CATEGORY),
  /** Templates: {site} {zone} {device} {value} {threshold} {minutes} {seconds} {count} {time} {hours}. */
  message: z.strictObject({ en: z.string().min(1).max(500), 'zh-CN': z.string().min(1).max(500) }),
  autoClear: z.boolean().default(true),
  /**
   * A security alarm latches (ISA-18.2): when its condition ends it records `restored` and
   * stays active until a person acknowledges it, so a door opened and closed within a second
   * is not gone before anyone saw it.
   */
  latch: z.boolean().default(false),
  enabled: z.boolean().default(true),
  description: z.string().max(500).optional(),
  when: whenSchema,
});
export type Rule = z.infer<typeof ruleSchema>;
export type RuleInput = z.input<typeof ruleSchema>;

export interface RuleProblem {
  source: string;
  path: string;
  message: string;
}

function pathOf(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out;
}

/** Validates one rule; every problem, with `prefix` before each path. */
export function validateRule(input: unknown, source: string, prefix = ''): { ok: true; rule: Rule } | { ok: false; problems: RuleProblem[] } {
  const parsed = ruleSchema.safeParse(input);
  if (parsed.success) return { ok: true, rule: parsed.data };
  return {
    ok: false,
    problems: parsed.error.issues.map((i) => {
      const p = pathOf(i.path);
      return { source, path: prefix + (p && prefix ? (p.startsWith('[') ? p : `.${p}`) : p), message: i.message };
    }),
  };
}

export function formatRuleProblems(problems: readonly RuleProblem[]): string {
  return problems.map((p) => `${p.source}: ${p.path ? `${p.path}: ` : ''}${p.message}`).join('\n');
}
