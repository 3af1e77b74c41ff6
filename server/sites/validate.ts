/**
 * Validation of a site model: the zod schema (model.ts) for structure, then cross-reference and
 * geometry checks. Every problem is reported at once, each with a path into the file, because a
 * person fixing a hand-written site file should not have to run the loader once per mistake.
 *
 * Cross-reference checks still run when the schema fails: each zone, door and device that is
 * valid on its own is checked against the others, and references to an element that exists but
 * is itself broken are not reported twice.
 */
import type { z } from 'zod';
import { placementFieldsOf } from '../../devices/index.ts';
import { PLACEMENT_FIELDS, type Capability, type PlacementField } from '../../devices/types.ts';
import {
  distance,
  distancePointToSegment,
  EPSILON,
  orientation,
  pointInPolygon,
  distanceToPolygonBoundary,
  polygonArea,
  polygonSelfIntersection,
  type Vec2,
} from './geometry.ts';
import {
  doorSchema,
  floorSchema,
  placementSchema,
  siteSchema,
  zoneSchema,
  type Door,
  type Placement,
  type ScheduleWindow,
  type Site,
  type Zone,
} from './model.ts';

export interface SiteProblem {
  /** Where in the file, e.g. `floors[1].zones[3].polygon`; '' for the file as a whole. */
  path: string;
  message: string;
  /** The file (or other origin) the site came from, when the caller named one. */
  source?: string;
}

export type SiteValidation = { ok: true; site: Site } | { ok: false; problems: SiteProblem[] };

/**
 * How far, in metres, a door end may be from its zone's edge, or a device from inside its zone.
 * Plans are drawn to the centimetre; 5 cm absorbs rounding and wall thickness without letting
 * a door float in the middle of a room.
 */
export const EDGE_TOLERANCE_M = 0.05;

/** Zones smaller than this (m²) are drawing mistakes, not rooms. */
const MIN_ZONE_AREA_M2 = 1e-6;

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

/** One line per problem: `source: path: message`. */
export function formatProblems(problems: readonly SiteProblem[]): string {
  return problems
    .map((p) => [p.source, p.path === '' ? '(file)' : p.path, p.message].filter((s) => s !== undefined).join(': '))
    .join('\n');
}

export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function idOf(v: unknown): string | undefined {
  return isRecord(v) && typeof v['id'] === 'string' ? v['id'] : undefined;
}

/** An element of the file: its path, its id if it has a string one, and its parsed value if valid. */
interface Entry<T> {
  path: string;
  id: string | undefined;
  value: T | undefined;
}

interface ZoneEntry extends Entry<Zone> {
  floorIndex: number;
  floorHeight: number | undefined;
}

interface DoorEntry extends Entry<Door> {
  floorIndex: number;
}

function entry<T>(schema: z.ZodType<T>, raw: unknown, path: string): Entry<T> {
  const parsed = schema.safeParse(raw);
  return { path, id: idOf(raw), value: parsed.success ? parsed.data : undefined };
}

/** Registers ids in first-come order and reports later duplicates at their own path. */
class IdRegistry<E extends { path: string; id: string | undefined }> {
  readonly byId = new Map<string, E>();

  constructor(
    private readonly what: string,
    private readonly problems: SiteProblem[],
  ) {}

  add(e: E): void {
    if (e.id === undefined) return;
    const first = this.byId.get(e.id);
    if (first) {
      this.problems.push({ path: `${e.path}.id`, message: `${this.what} id "${e.id}" is already used at ${first.path}` });
    } else {
      this.byId.set(e.id, e);
    }
  }
}

function minutes(hhmm: string): number {
  const [h, m] = hhmm.split(':');
  return Number(h) * 60 + Number(m);
}

export function validateSite(input: unknown, source?: string): SiteValidation {
  const problems: SiteProblem[] = [];

  const parsed = siteSchema.safeParse(input);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push({ path: formatPath(issue.path), message: issue.message });
  }

  if (isRecord(input)) crossCheck(input, problems);

  if (problems.length > 0 || !parsed.success) {
    return { ok: false, problems: source === undefined ? problems : problems.map((p) => ({ ...p, source })) };
  }
  return { ok: true, site: parsed.data };
}

function crossCheck(raw: Record<string, unknown>, problems: SiteProblem[]): void {
  checkSiteSettings(raw, problems);

  const floorIds = new IdRegistry<{ path: string; id: string | undefined }>('floor', problems);
  const zones = new IdRegistry<ZoneEntry>('zone', problems);
  const doors = new IdRegistry<DoorEntry>('door', problems);
  const devices = new IdRegistry<Entry<Placement>>('device', problems);

  const floors = asArray(raw['floors']);
  // If a list itself is missing or mangled, "zone x does not exist" would be noise on top of
  // the schema problem that already says so; references are only judged against complete lists.
  const refs: References = {
    zones: zones.byId,
    doors: doors.byId,
    zonesComplete: Array.isArray(raw['floors']) && floors.every((f) => isRecord(f) && Array.isArray(f['zones'])),
    doorsComplete:
      Array.isArray(raw['floors']) && floors.every((f) => isRecord(f) && (f['doors'] === undefined || Array.isArray(f['doors']))),
  };

  floors.forEach((floor, f) => {
    const floorPath = `floors[${f}]`;
    floorIds.add({ path: floorPath, id: idOf(floor) });
    if (!isRecord(floor)) return;
    const parsedHeight = floorSchema.shape.height.safeParse(floor['height']);
    const height = parsedHeight.success ? parsedHeight.data : undefined;
    asArray(floor['zones']).forEach((z, i) => {
      const e = entry(zoneSchema, z, `${floorPath}.zones[${i}]`);
      zones.add({ ...e, floorIndex: f, floorHeight: height });
      if (e.value) checkZone(e.value, e.path, problems);
    });
  });
  // Doors after all zones, so a door may name a zone listed later in the file.
  floors.forEach((floor, f) => {
    if (!isRecord(floor)) return;
    asArray(floor['doors']).forEach((d, i) => {
      const e = entry(doorSchema, d, `floors[${f}].doors[${i}]`);
      doors.add({ ...e, floorIndex: f });
      if (e.value) checkDoor(e.value, e.path, f, refs, problems);
    });
  });

  asArray(raw['devices']).forEach((d, i) => {
    const e = entry(placementSchema, d, `devices[${i}]`);
    devices.add(e);
    if (e.value) checkPlacement(e.value, e.path, refs, problems);
  });
}

interface References {
  zones: ReadonlyMap<string, ZoneEntry>;
  doors: ReadonlyMap<string, DoorEntry>;
  zonesComplete: boolean;
  doorsComplete: boolean;
}

function checkSiteSettings(raw: Record<string, unknown>, problems: SiteProblem[]): void {
  const tz = raw['timezone'];
  if (typeof tz === 'string' && tz !== '' && !isValidTimeZone(tz)) {
    problems.push({ path: 'timezone', message: `"${tz}" is not an IANA time zone (e.g. Asia/Shanghai)` });
  }
  const hours = raw['openingHours'];
  const isTime = (v: unknown): v is string => typeof v === 'string' && /^(([01]\d|2[0-3]):[0-5]\d|24:00)$/.test(v);
  // Malformed times are the schema's to report; this only judges well-formed ones.
  if (isRecord(hours) && isTime(hours['open']) && isTime(hours['close'])) {
    // 'to' before 'from' wraps past midnight (a bar open 18:00-02:00); equal times are no window.
    if (minutes(hours['open']) === minutes(hours['close'])) {
      problems.push({
        path: 'openingHours',
        message: `opens and closes at the same time (${hours['open']}); use 00:00-24:00 for around the clock`,
      });
    }
  }
}

function checkZone(zone: Zone, path: string, problems: SiteProblem[]): void {
  const polygon = zone.polygon;
  const first = polygon[0]!;
  const last = polygon[polygon.length - 1]!;
  const bad = polygonSelfIntersection(polygon);
  if (polygon.length > 3 && distance(first, last) <= EDGE_TOLERANCE_M) {
    problems.push({
      path: `${path}.polygon`,
      message: 'repeats its first point at the end; polygons are closed implicitly, so list each corner once',
    });
  } else if (bad?.kind === 'zero-length-edge') {
    problems.push({
      path: `${path}.polygon[${(bad.edge + 1) % polygon.length}]`,
      message: 'repeats the previous point (zero-length edge)',
    });
  } else if (polygonArea(polygon) < MIN_ZONE_AREA_M2 && allCollinear(polygon)) {
    // Checked before crossings: a flat polygon "crosses" itself too, but this message says why.
    problems.push({ path: `${path}.polygon`, message: 'has zero area: its points are all on one line' });
  } else if (bad) {
    problems.push({
      path: `${path}.polygon`,
      message: `is not simple: edges ${bad.edges[0]} and ${bad.edges[1]} cross or overlap (edge i runs from point i to point i+1)`,
    });
  } else if (polygonArea(polygon) < MIN_ZONE_AREA_M2) {
    problems.push({ path: `${path}.polygon`, message: 'has zero area' });
  }
  zone.armedDuring.forEach((w, k) => checkWindow(w, `${path}.armedDuring[${k}]`, problems));
}

function allCollinear(polygon: readonly Vec2[]): boolean {
  const a = polygon[0]!;
  const b = polygon.find((q) => distance(a, q) > EPSILON);
  return b === undefined || polygon.every((q) => Math.abs(orientation(a, b, q)) <= EPSILON * Math.max(1, distance(a, b)));
}

function checkWindow(w: ScheduleWindow, path: string, problems: SiteProblem[]): void {
  if (minutes(w.from) === minutes(w.to)) {
    problems.push({ path, message: `from and to are both ${w.from}: an empty window; use 00:00-24:00 for all day` });
  }
  const seen = new Set<string>();
  for (const day of w.days) {
    if (seen.has(day)) problems.push({ path: `${path}.days`, message: `lists "${day}" twice` });
    seen.add(day);
  }
}

function checkDoor(
  door: Door,
  path: string,
  floorIndex: number,
  refs: References,
  problems: SiteProblem[],
): void {
  const length = distance(door.from, door.to);
  if (length <= EDGE_TOLERANCE_M) {
    problems.push({ path, message: `from and to are ${length.toFixed(3)} m apart; a door needs a width` });
  }
  const zone = refs.zones.get(door.zone);
  if (!zone) {
    if (refs.zonesComplete) problems.push({ path: `${path}.zone`, message: `zone "${door.zone}" does not exist` });
    return;
  }
  if (zone.floorIndex !== floorIndex) {
    problems.push({
      path: `${path}.zone`,
      message: `zone "${door.zone}" is on floors[${zone.floorIndex}], not on this door's floor`,
    });
    return;
  }
  if (!zone.value) return; // the zone's own problems are already reported
  const polygon = zone.value.polygon;
  const edgesNear = (p: Vec2): number[] => {
    const found: number[] = [];
    for (let i = 0; i < polygon.length; i++) {
      const d = distancePointToSegment(p, polygon[i]!, polygon[(i + 1) % polygon.length]!);
      if (d <= EDGE_TOLERANCE_M) found.push(i);
    }
    return found;
  };
  const fromEdges = edgesNear(door.from);
  const toEdges = edgesNear(door.to);
  const off = `is not on an edge of zone "${door.zone}" (more than ${EDGE_TOLERANCE_M} m away)`;
  if (fromEdges.length === 0) problems.push({ path: `${path}.from`, message: off });
  if (toEdges.length === 0) problems.push({ path: `${path}.to`, message: off });
  if (fromEdges.length > 0 && toEdges.length > 0 && !fromEdges.some((i) => toEdges.includes(i))) {
    problems.push({
      path,
      message: `from and to lie on different edges of zone "${door.zone}"; a door spans one wall`,
    });
  }
}

/** Whether the placement uses a field that only some types take (an empty `watches` is the default). */
function usesField(device: Placement, field: PlacementField): boolean {
  return field === 'watches' ? device.watches.length > 0 : device[field] !== undefined;
}

/** The capabilities that give a placement `field`, for the message: `"motion" or "snapshot"`. */
function capabilitiesGiving(field: PlacementField): string {
  const caps = (Object.keys(PLACEMENT_FIELDS) as Capability[]).filter((c) => PLACEMENT_FIELDS[c].includes(field));
  return caps.map((c) => `"${c}"`).join(' or ');
}

const PLACEMENT_ONLY_FIELDS: readonly PlacementField[] = ['door', 'watches', 'fov', 'counts'];

function checkPlacement(
  device: Placement,
  path: string,
  refs: References,
  problems: SiteProblem[],
): void {
  const { zones, doors } = refs;
  const missingZone = (w: string, at: string): void => {
    if (refs.zonesComplete) problems.push({ path: at, message: `zone "${w}" does not exist` });
  };
  // A field meant for another kind of device is a sign of a copy-paste slip, and would be
  // ignored silently. What a type takes follows from what it can do (devices/types.ts).
  const takes = placementFieldsOf(device.type);
  for (const field of PLACEMENT_ONLY_FIELDS) {
    if (usesField(device, field) && !takes.includes(field)) {
      problems.push({
        path: `${path}.${field}`,
        message: `only a device type that can ${capabilitiesGiving(field)} has "${field}"; a ${device.type} cannot`,
      });
    }
  }

  const zone = zones.get(device.zone);
  if (!zone) missingZone(device.zone, `${path}.zone`);

  if (device.door !== undefined) {
    const door = doors.get(device.door);
    if (!door) {
      if (refs.doorsComplete) problems.push({ path: `${path}.door`, message: `door "${device.door}" does not exist` });
    } else if (door.value && door.value.zone !== device.zone && zones.has(door.value.zone)) {
      // (A door whose own zone is unknown is reported at the door; no second problem here.)
      problems.push({
        path: `${path}.door`,
        message: `door "${device.door}" belongs to zone "${door.value.zone}", not to this device's zone "${device.zone}"`,
      });
    }
  }

  const seen = new Set<string>();
  device.watches.forEach((w, k) => {
    const watched = zones.get(w);
    if (seen.has(w)) problems.push({ path: `${path}.watches[${k}]`, message: `lists zone "${w}" twice` });
    seen.add(w);
    if (!watched) {
      missingZone(w, `${path}.watches[${k}]`);
    } else if (zone && watched.floorIndex !== zone.floorIndex) {
      // A camera cannot see through a floor slab; this is almost always a wrong room number.
      problems.push({ path: `${path}.watches[${k}]`, message: `zone "${w}" is on another floor than the camera` });
    }
  });

  if (device.counts !== undefined && !zones.get(device.counts)) missingZone(device.counts, `${path}.counts`);

  if (device.position && zone?.value) {
    const [x, y, z] = device.position;
    const polygon = zone.value.polygon;
    if (!pointInPolygon([x, y], polygon) && distanceToPolygonBoundary([x, y], polygon) > EDGE_TOLERANCE_M) {
      problems.push({ path: `${path}.position`, message: `(${x}, ${y}) is outside zone "${device.zone}"` });
    }
    if (z < 0 || (zone.floorHeight !== undefined && z > zone.floorHeight)) {
      problems.push({
        path: `${path}.position`,
        message: `height ${z} m is outside the floor (0 to ${zone.floorHeight ?? '?'} m)`,
      });
    }
  }
}
