/**
 * The site model (the twin's static attributes): floors, zones as polygons in metres, doors on
 * zone edges, devices placed at positions. Site files are YAML or JSON in this shape.
 * Structural checks live in this schema; cross-reference checks (a door's zone exists, ids are
 * unique…) live in validate.ts, and all problems are reported at once.
 *
 * Objects are strict: an unknown key is a problem, because a misspelt `armedDurring` in a
 * hand-written file would otherwise be dropped silently and leave a cash room unarmed.
 * Numbers need no `.finite()`: zod 4 refuses Infinity and NaN by default.
 */
import { z } from 'zod';
import { DEVICE_TYPE_IDS } from '../../devices/index.ts';

export const ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const idSchema = z.string().regex(ID_PATTERN, 'must be lowercase letters, digits and dashes ([a-z0-9-]+)');

/** Further locales may be added later, so unknown keys here are dropped rather than refused. */
export const localizedSchema = z.object({ en: z.string().min(1), 'zh-CN': z.string().min(1) });
export type Localized = z.infer<typeof localizedSchema>;

const pointSchema = z.tuple([z.number(), z.number()]);
export type Point = z.infer<typeof pointSchema>;

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM');
/** An end of a window may be 24:00 (end of day). */
const hhmmEnd = z.string().regex(/^(([01]\d|2[0-3]):[0-5]\d|24:00)$/, 'must be HH:MM (24:00 allowed)');
export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

/** A weekly window in site-local time; `to` before `from` wraps past midnight. */
export const scheduleWindowSchema = z.strictObject({
  days: z.array(z.enum(WEEKDAYS)).min(1).default([...WEEKDAYS]),
  from: hhmm,
  to: hhmmEnd,
});
export type ScheduleWindow = z.infer<typeof scheduleWindowSchema>;

export const ZONE_KINDS = [
  'room',
  'corridor',
  'lobby',
  'hall',
  'entrance',
  'office',
  'cash-room',
  'storage',
  'stairs',
  'service',
] as const;

export const zoneSchema = z.strictObject({
  id: idSchema,
  name: localizedSchema,
  kind: z.enum(ZONE_KINDS),
  /**
   * Polygon in metres in the floor's plane, at least a triangle, closed implicitly (do not
   * repeat the first point). Counter-clockwise by convention; either winding is accepted.
   * validate.ts checks it is simple (no self-intersection) with non-zero area.
   */
  polygon: z.array(pointSchema).min(3),
  /** Door openings here matter to the rules (guest rooms, cash room, back office). */
  monitored: z.boolean().default(false),
  /** Persons allowed at once; halls are tinted and alarmed against it. */
  capacity: z.number().int().positive().optional(),
  /** Weekly windows during which the zone is armed by schedule (e.g. the back office at night). */
  armedDuring: z.array(scheduleWindowSchema).default([]),
});
export type Zone = z.infer<typeof zoneSchema>;

export const doorSchema = z.strictObject({
  id: idSchema,
  /** The zone the door belongs to (the room it closes). */
  zone: idSchema,
  /** Hinge and latch ends of the door leaf on the zone's edge, metres. */
  from: pointSchema,
  to: pointSchema,
});
export type Door = z.infer<typeof doorSchema>;

export const floorSchema = z.strictObject({
  id: idSchema,
  name: localizedSchema,
  /** Storey number; 0 is the ground floor. */
  level: z.number().int(),
  /** Floor-to-ceiling height in metres, for extrusion. */
  height: z.number().positive().default(3),
  zones: z.array(zoneSchema).min(1),
  doors: z.array(doorSchema).default([]),
});
export type Floor = z.infer<typeof floorSchema>;

/** The device catalogue's ids (devices/index.ts), re-exported for the schemas that name types. */
export { DEVICE_TYPE_IDS };

export const placementSchema = z.strictObject({
  id: idSchema,
  type: z.enum(DEVICE_TYPE_IDS),
  zone: idSchema,
  /** Metres: x, y in the floor plane, z above the floor. Defaults to the zone's centroid. */
  position: z.tuple([z.number(), z.number(), z.number()]).optional(),
  /**
   * The fields below belong to what a type can do (devices/types.ts PLACEMENT_FIELDS;
   * validate.ts refuses them on other types). Types that sense a door (`door`): the door.
   */
  door: idSchema.optional(),
  /**
   * Types that detect motion or take snapshots (cameras): zones in view (their motion counts
   * there, snapshots are taken for alarms there) and the view cone.
   */
  watches: z.array(idSchema).default([]),
  fov: z
    .object({
      /** Degrees, 0 = +x, counter-clockwise. */
      heading: z.number(),
      /** Horizontal opening angle, degrees. */
      angle: z.number().positive().max(360),
      /** Metres. */
      range: z.number().positive(),
    })
    .optional(),
  /** Types that count footfall (`count`): the hall whose occupancy their in/out counts feed. */
  counts: idSchema.optional(),
  label: z.string().max(80).optional(),
});
export type Placement = z.infer<typeof placementSchema>;

export const siteSchema = z.strictObject({
  id: idSchema,
  name: localizedSchema,
  kind: z.enum(['hotel', 'shop', 'hall']),
  /** IANA time zone of the site, for schedules and opening hours. */
  timezone: z.string().min(1).default('Asia/Shanghai'),
  /** Opening hours, local; hotels are open around the clock. */
  openingHours: z.strictObject({ open: hhmm, close: hhmmEnd }).default({ open: '00:00', close: '24:00' }),
  floors: z.array(floorSchema).min(1),
  devices: z.array(placementSchema).default([]),
});
export type Site = z.infer<typeof siteSchema>;
export type SiteInput = z.input<typeof siteSchema>;
