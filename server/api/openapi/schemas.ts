/**
 * What the API answers, as zod schemas for the API description (GET /api/openapi.json). The
 * requests are described by the schemas the handlers validate with; the answers are TypeScript
 * types, so the key shapes are written here once more — and tied to those types at compile time
 * (`sameKeys` below: a field added to Alarm or PublicDevice without its schema here fails
 * typecheck), and to the running server by tests/api/openapi.test.ts, which parses real answers
 * with them. Shapes with many nested figures (KPIs, footfall, history) name their top-level
 * fields and leave the rest to README.md.
 *
 * RESPONSE_COMPONENTS names the ones shown as `#/components/schemas/{name}`.
 */
import { z } from 'zod';
import { SEVERITIES, type Alarm } from '../../alarms/types.ts';
import type { MaintenanceWindow } from '../../arming/types.ts';
import type { ZoneArming } from '../../arming/service.ts';
import { AUDIT_ACTIONS, AUDIT_TARGET_KINDS, type AuditEntry } from '../../audit/types.ts';
import { ACTIONS } from '../../auth/roles.ts';
import type { PublicUser, TokenInfo } from '../../auth/users.ts';
import { ERRORS } from '../../errors.ts';
import { DELIVERY_STATES } from '../../notify/outbox-store.ts';
import type { PublicDevice } from '../../registry/types.ts';
import { ruleSchema } from '../../rules/schema.ts';
import { floorSchema, localizedSchema, placementSchema, scheduleWindowSchema, siteSchema } from '../../sites/model.ts';
import { ROLES, type StoredEvent } from '../../storage/types.ts';
import type { DeviceState, SiteState, ZoneState } from '../../twin/types.ts';
import type { SiteDevice, SiteSummary } from '../../sites/wire.ts';

/**
 * Compile-time check that a schema's output names exactly the fields of a type: both ways, so
 * neither can gain a field the other lacks. `sameKeys<T>()(schema)` returns the schema.
 */
type Exact<A, B> = [keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false;
export function sameKeys<T>() {
  return <S extends z.ZodType>(schema: S & (Exact<z.output<S>, T> extends true ? unknown : { error: 'fields differ from the type' })): S => schema;
}

export const isoTime = z.string().describe('ISO 8601 date-time');
const ERROR_CODES = Object.keys(ERRORS) as [keyof typeof ERRORS, ...(keyof typeof ERRORS)[]];

export const errorSchema = z.object({
  error: z.object({
    code: z.enum(ERROR_CODES).describe('a stable code from the catalogue (x-error-codes, README "Error codes")'),
    message: z.string().describe('readable, may change between versions'),
    detail: z.unknown().optional().describe('for STW_ERR_VALIDATION the zod issues; else code-specific'),
  }),
});

const externalIds = z.record(z.string(), z.string()).describe('platform → the device id there: imei, ctwing, onenet, hikvision, axis, frigate');

export const deviceSchema = sameKeys<PublicDevice>()(
  z.object({
    id: z.string(),
    site: z.string(),
    type: z.string().describe('a device type id from the catalogue (door-sensor, camera, footfall-counter, …)'),
    zone: z.string(),
    label: z.string().nullable(),
    position: z.tuple([z.number(), z.number(), z.number()]).nullable().describe('metres [x, y, z]; null = the zone centre'),
    externalIds,
    enabled: z.boolean(),
    createdAt: isoTime,
    updatedAt: isoTime,
  }),
);

export const userSchema = sameKeys<PublicUser>()(
  z.object({
    id: z.number().int(),
    username: z.string(),
    role: z.enum(ROLES as readonly [string, ...string[]]),
    sites: z.array(z.string()).describe('the sites the user may see; empty = every site'),
    createdAt: isoTime,
  }),
);

export const tokenInfoSchema = sameKeys<TokenInfo>()(
  z.object({
    id: z.string().describe('the first 16 hex digits of the token’s sha256'),
    kind: z.enum(['session', 'api']),
    name: z.string().nullable(),
    createdAt: isoTime,
    expiresAt: isoTime.nullable(),
  }),
);

export const eventSchema = sameKeys<StoredEvent>()(
  z.object({
    id: z.number().int(),
    site: z.string(),
    device: z.string(),
    deviceType: z.string(),
    zone: z.string(),
    type: z.string(),
    seq: z.number().int().nullable(),
    ts: isoTime.describe("the device's time when plausible, else the receive time"),
    receivedAt: isoTime,
    data: z.looseObject({ type: z.string() }).describe('the decoded event, the same whether the device sent JSON or a binary frame'),
  }),
);

const snapshotStatus = z.discriminatedUnion('status', [
  z.object({ status: z.literal('pending'), requestedAt: isoTime, camera: z.string() }),
  z.object({ status: z.literal('attached'), id: z.string(), camera: z.string(), at: isoTime, url: z.string().describe('GET it: /api/snapshots/{id}') }),
  z.object({ status: z.literal('none'), reason: z.string() }),
  z.object({ status: z.literal('failed'), camera: z.string(), reason: z.string() }),
]);

const alarmTransition = z.object({
  at: isoTime,
  by: z.string().describe('a user name, or system / rule:<id>'),
  action: z.enum(['raised', 'repeated', 'restored', 'acknowledged', 'cleared', 'commented', 'escalated', 'snapshot']),
  comment: z.string().optional(),
  detail: z.record(z.string(), z.unknown()).optional(),
});

const alarmFields = {
  id: z.string(),
  site: z.string(),
  zone: z.string().nullable(),
  device: z.string().nullable(),
  rule: z.string(),
  source: z.string(),
  severity: z.enum(SEVERITIES),
  state: z.enum(['active', 'acknowledged', 'cleared']),
  acknowledged: z.boolean(),
  message: localizedSchema,
  count: z.number().int().describe('occurrences folded into this alarm'),
  firstAt: isoTime,
  lastAt: isoTime,
  acknowledgedAt: isoTime.nullable(),
  acknowledgedBy: z.string().nullable(),
  clearedAt: isoTime.nullable(),
  clearedBy: z.string().nullable(),
  escalationLevel: z.number().int(),
  snapshot: snapshotStatus.nullable(),
  latched: z.boolean(),
  restoredAt: isoTime.nullable(),
  chattering: z.boolean(),
  details: z.record(z.string(), z.unknown()).describe('rule-specific; `category`: security, device-health or operations'),
};

export const alarmSchema = sameKeys<Alarm>()(z.object({ ...alarmFields, history: z.array(alarmTransition) }));
/** Lists and the MQTT feed leave the history out (GET /api/alarms/{id} has it). */
export const alarmSummarySchema = sameKeys<Omit<Alarm, 'history'>>()(z.object(alarmFields));

export const alarmFeedMessageSchema = z.object({
  action: alarmTransition.shape.action,
  alarm: alarmSummarySchema,
});

export const siteSummarySchema = sameKeys<SiteSummary>()(
  z.object({
    id: z.string(),
    name: localizedSchema,
    kind: siteSchema.shape.kind,
    timezone: z.string().describe('IANA time zone'),
    floors: z.number().int(),
    zones: z.number().int(),
    devices: z.number().int(),
  }),
);

export const siteDeviceSchema = sameKeys<SiteDevice>()(
  z.object({
    id: z.string(),
    type: z.string(),
    zone: z.string(),
    label: z.string().nullable(),
    position: z.tuple([z.number(), z.number(), z.number()]).nullable(),
    enabled: z.boolean(),
    door: z.string().optional(),
    watches: z.array(z.string()).optional(),
    fov: placementSchema.shape.fov,
    counts: z.string().optional(),
  }),
);

/** The twin model: the site file's floors, zones and doors, and the registered devices placed. */
export const siteModelSchema = z.object({
  id: z.string(),
  name: localizedSchema,
  kind: siteSchema.shape.kind,
  timezone: z.string(),
  openingHours: z.object({ open: z.string(), close: z.string() }),
  floors: z.array(floorSchema),
  devices: z.array(siteDeviceSchema),
});

const door = z.enum(['open', 'closed']);

const deviceStateSchema = sameKeys<DeviceState>()(
  z.object({
    id: z.string(),
    site: z.string(),
    zone: z.string(),
    type: z.string(),
    online: z.boolean().nullable(),
    lastSeen: isoTime.nullable(),
    lastEvent: z.object({ type: z.string(), ts: isoTime, seq: z.number().int().nullable() }).nullable(),
    battery: z.number().nullable().describe('volts'),
    batteryPct: z.number().nullable(),
    rsrp: z.number().nullable().describe('dBm'),
    snr: z.number().nullable().describe('dB'),
    door: door.nullable(),
    tamper: z.boolean(),
    rejected: z.number().int().describe('payloads refused since the server started'),
    lastRejection: z.object({ code: z.string(), message: z.string(), at: isoTime }).nullable(),
  }),
);

const zoneStateSchema = sameKeys<ZoneState>()(
  z.object({
    id: z.string(),
    site: z.string(),
    floor: z.string(),
    door: door.nullable(),
    doorChangedAt: isoTime.nullable(),
    occupancy: z.number().nullable(),
    capacity: z.number().nullable(),
    lastMotionAt: isoTime.nullable(),
  }),
);

export const siteStateSchema = sameKeys<SiteState>()(
  z.object({
    site: z.string(),
    zones: z.record(z.string(), zoneStateSchema).describe('by zone id'),
    devices: z.record(z.string(), deviceStateSchema).describe('by device id'),
  }),
);

/** A rule as stored: its definition (defaults applied), where it comes from, when it changed. */
export const storedRuleSchema = ruleSchema.extend({
  origin: z.enum(['file', 'api']).describe('file rules are edited in their file (409 STW_ERR_RULE_FROM_FILE here)'),
  updatedAt: isoTime,
});

export const zoneArmingSchema = sameKeys<ZoneArming>()(
  z.object({
    zone: z.string(),
    armed: z.boolean(),
    source: z.enum(['manual', 'schedule']),
    by: z.string().nullable(),
    at: isoTime.nullable(),
    until: isoTime.nullable(),
    scheduleArmed: z.boolean(),
    schedule: z.array(scheduleWindowSchema),
  }),
);

export const maintenanceSchema = sameKeys<MaintenanceWindow>()(
  z.object({
    id: z.number().int(),
    site: z.string(),
    zone: z.string().nullable(),
    device: z.string().nullable(),
    by: z.string(),
    reason: z.string().nullable(),
    from: isoTime,
    until: isoTime,
    active: z.boolean().describe('in force at the time of the answer'),
  }),
);

export const deliverySchema = z.object({
  id: z.number().int(),
  idempotencyKey: z.string(),
  alarm: z.string(),
  site: z.string(),
  channel: z.string(),
  route: z.string(),
  payload: z.unknown(),
  state: z.enum(DELIVERY_STATES),
  attempts: z.number().int(),
  nextAttemptAt: isoTime,
  lastError: z.string().nullable(),
  createdAt: isoTime,
  deliveredAt: isoTime.nullable(),
});

export const auditEntrySchema = sameKeys<AuditEntry>()(
  z.object({
    id: z.number().int(),
    at: isoTime,
    action: z.enum(AUDIT_ACTIONS),
    site: z.string().nullable(),
    target: z.object({ kind: z.enum(AUDIT_TARGET_KINDS), id: z.string(), name: z.string().optional() }).nullable(),
    before: z.record(z.string(), z.unknown()).optional(),
    after: z.record(z.string(), z.unknown()).optional(),
    detail: z.record(z.string(), z.unknown()).optional(),
    user: z.string().describe('the account name, or cli / setup'),
    userId: z.number().int().nullable(),
    role: z.string().nullable(),
    ip: z.string().nullable(),
  }),
);

/** `{items, nextCursor}`: keyset pages; pass `nextCursor` as `cursor` for the next one, null at the end. */
export function pageOf<S extends z.ZodType>(item: S) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() });
}

export const meSchema = z.object({ user: userSchema, permissions: z.array(z.enum(ACTIONS)) });
export const sessionSchema = z.object({ token: z.string().describe('send as Authorization: Bearer'), user: userSchema, expiresAt: isoTime });

/** The names under #/components/schemas. A schema used in several answers is best named here. */
export const RESPONSE_COMPONENTS: Readonly<Record<string, z.ZodType>> = {
  Error: errorSchema,
  Device: deviceSchema,
  User: userSchema,
  TokenInfo: tokenInfoSchema,
  Event: eventSchema,
  Alarm: alarmSchema,
  AlarmSummary: alarmSummarySchema,
  AlarmFeedMessage: alarmFeedMessageSchema,
  SiteSummary: siteSummarySchema,
  SiteModel: siteModelSchema,
  SiteState: siteStateSchema,
  Rule: storedRuleSchema,
  ZoneArming: zoneArmingSchema,
  MaintenanceWindow: maintenanceSchema,
  Delivery: deliverySchema,
  AuditEntry: auditEntrySchema,
};
