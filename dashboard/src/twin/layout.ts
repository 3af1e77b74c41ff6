/**
 * Where things are drawn: floors placed by an arrangement (twin/arrange.ts: pulled apart
 * vertically in 3D so every floor can be read, side by side in 2D), zones with centroids and
 * bounds, devices with positions. Coordinates are the model's metres with z up, shifted by
 * their floor's offset; the view rotates the whole twin into three.js' y-up world once, at its
 * root. Without an arrangement floors stack as built: each floor's base is the sum of the
 * heights of the floors below it, level 0 at elevation 0.
 */
import type { DeviceTypeInfo } from '../../../server/api/routes/device-types.ts';
import type { Zone } from '../../../server/sites/model.ts';
import type { SiteModel } from './types.ts';

export type Lang = 'zh-CN' | 'en';
export type Vec2 = [number, number];

export interface FloorInfo {
  id: string;
  index: number;
  name: string;
  level: number;
  height: number;
  /** Drawn base of the floor (model z plus the arrangement's offset). */
  elevation: number;
  /** Drawn bounds of the floor's zones. */
  min: Vec2;
  max: Vec2;
}

/** A floor as built, before it is placed: what an arrangement needs to place it. */
export interface FloorFootprint {
  level: number;
  height: number;
  /** Model bounds of its zones; a floor without zones has an empty box at the origin. */
  min: Vec2;
  max: Vec2;
}

/** Per floor (in level order): where it is drawn, as an offset added to its model metres. */
export type FloorOffsets = ReadonlyArray<readonly [number, number, number]>;
export type Arrangement = (floors: readonly FloorFootprint[]) => FloorOffsets;

/** Floors stacked as built: each floor's base is the sum of the heights of those below. */
export const builtStack: Arrangement = (floors) => {
  let base = -floors.filter((f) => f.level < 0).reduce((s, f) => s + f.height, 0);
  return floors.map((f) => {
    const at = [0, 0, base] as const;
    base += f.height;
    return at;
  });
};

export interface ZoneInfo {
  id: string;
  index: number;
  floor: number;
  kind: Zone['kind'];
  name: string;
  /** Counter-clockwise. */
  polygon: Vec2[];
  centroid: Vec2;
  min: Vec2;
  max: Vec2;
  capacity: number | null;
}

export interface DoorInfo {
  id: string;
  index: number;
  zone: number;
  floor: number;
  from: Vec2;
  to: Vec2;
}

export type DeviceKind = 'sensor' | 'camera' | 'counter';

/** What the layout needs of the catalogue (`GET /api/device-types`): each type's capabilities. */
export type DeviceCatalogue = ReadonlyArray<Pick<DeviceTypeInfo, 'id' | 'capabilities'>>;

/**
 * How a device is drawn, from what its type can do, never its id: a device with a view (it
 * takes pictures or detects motion in the zones it watches) is a camera with a view cone, even
 * a people-counting camera; one that only counts footfall is a counter; anything else, door
 * contacts and types this page does not know, a sensor.
 */
export function deviceKind(capabilities: readonly string[]): DeviceKind {
  if (capabilities.includes('snapshot') || capabilities.includes('motion')) return 'camera';
  if (capabilities.includes('count')) return 'counter';
  return 'sensor';
}

export interface DeviceInfo {
  id: string;
  index: number;
  kind: DeviceKind;
  zone: number;
  floor: number;
  /** Model metres, z above the floor. */
  position: [number, number, number];
  door: number | null;
  fov: { heading: number; angle: number; range: number } | null;
}

/** Slab thickness of a zone, metres. */
export function slabThickness(kind: Zone['kind']): number {
  return kind === 'corridor' ? 0.06 : 0.15;
}

function signedArea(p: Vec2[]): number {
  let a = 0;
  for (let i = 0; i < p.length; i++) {
    const [x1, y1] = p[i]!;
    const [x2, y2] = p[(i + 1) % p.length]!;
    a += x1 * y2 - x2 * y1;
  }
  return a / 2;
}

function centroidOf(p: Vec2[]): Vec2 {
  const a = signedArea(p);
  if (Math.abs(a) < 1e-9) {
    const sx = p.reduce((s, q) => s + q[0], 0);
    const sy = p.reduce((s, q) => s + q[1], 0);
    return [sx / p.length, sy / p.length];
  }
  let cx = 0;
  let cy = 0;
  for (let i = 0; i < p.length; i++) {
    const [x1, y1] = p[i]!;
    const [x2, y2] = p[(i + 1) % p.length]!;
    const f = x1 * y2 - x2 * y1;
    cx += (x1 + x2) * f;
    cy += (y1 + y2) * f;
  }
  return [cx / (6 * a), cy / (6 * a)];
}

function footprint(f: SiteModel['floors'][number]): FloorFootprint {
  const min: Vec2 = [Infinity, Infinity];
  const max: Vec2 = [-Infinity, -Infinity];
  for (const z of f.zones) {
    for (const [x, y] of z.polygon) {
      min[0] = Math.min(min[0], x);
      min[1] = Math.min(min[1], y);
      max[0] = Math.max(max[0], x);
      max[1] = Math.max(max[1], y);
    }
  }
  if (!Number.isFinite(min[0])) return { level: f.level, height: f.height, min: [0, 0], max: [0, 0] };
  return { level: f.level, height: f.height, min, max };
}

/** Every floor as built, in level order: what arrangements are computed from. */
export function footprints(site: SiteModel): FloorFootprint[] {
  return [...site.floors].sort((a, b) => a.level - b.level).map(footprint);
}

export class SiteLayout {
  readonly floors: FloorInfo[] = [];
  readonly zones: ZoneInfo[] = [];
  readonly doors: DoorInfo[] = [];
  readonly devices: DeviceInfo[] = [];
  readonly floorById = new Map<string, number>();
  readonly zoneById = new Map<string, number>();
  readonly doorById = new Map<string, number>();
  readonly deviceById = new Map<string, number>();
  /** Devices of each zone, for "the zone is offline when all its devices are". */
  readonly zoneDevices: number[][] = [];

  constructor(site: SiteModel, lang: Lang, catalogue: DeviceCatalogue, arrange: Arrangement = builtStack) {
    const capabilities = new Map(catalogue.map((t) => [t.id, t.capabilities] as const));
    const floors = [...site.floors].sort((a, b) => a.level - b.level);
    const offsets = arrange(floors.map(footprint));
    for (const f of floors) {
      const fi = this.floors.length;
      const [ox, oy, oz] = offsets[fi] ?? [0, 0, 0];
      const info: FloorInfo = {
        id: f.id,
        index: fi,
        name: f.name[lang] ?? f.name.en,
        level: f.level,
        height: f.height,
        elevation: oz,
        min: [Infinity, Infinity],
        max: [-Infinity, -Infinity],
      };
      this.floors.push(info);
      this.floorById.set(f.id, fi);
      for (const z of f.zones) {
        let poly = z.polygon.map((p) => [p[0] + ox, p[1] + oy] as Vec2);
        if (signedArea(poly) < 0) poly = poly.reverse();
        const min: Vec2 = [Infinity, Infinity];
        const max: Vec2 = [-Infinity, -Infinity];
        for (const [x, y] of poly) {
          min[0] = Math.min(min[0], x);
          min[1] = Math.min(min[1], y);
          max[0] = Math.max(max[0], x);
          max[1] = Math.max(max[1], y);
        }
        info.min = [Math.min(info.min[0], min[0]), Math.min(info.min[1], min[1])];
        info.max = [Math.max(info.max[0], max[0]), Math.max(info.max[1], max[1])];
        const zi = this.zones.length;
        this.zones.push({
          id: z.id,
          index: zi,
          floor: fi,
          kind: z.kind,
          name: z.name[lang] ?? z.name.en,
          polygon: poly,
          centroid: centroidOf(poly),
          min,
          max,
          capacity: z.capacity ?? null,
        });
        this.zoneById.set(z.id, zi);
        this.zoneDevices.push([]);
      }
      for (const d of f.doors) {
        const zi = this.zoneById.get(d.zone);
        if (zi === undefined) continue;
        const di = this.doors.length;
        this.doors.push({ id: d.id, index: di, zone: zi, floor: fi, from: [d.from[0] + ox, d.from[1] + oy], to: [d.to[0] + ox, d.to[1] + oy] });
        this.doorById.set(d.id, di);
      }
    }
    // Devices sorted by floor so per-floor ranges of merged geometry are contiguous.
    const devs = site.devices
      .map((d) => ({ d, zi: this.zoneById.get(d.zone) }))
      .filter((x): x is { d: SiteModel['devices'][number]; zi: number } => x.zi !== undefined)
      .sort((a, b) => this.zones[a.zi]!.floor - this.zones[b.zi]!.floor);
    for (const { d, zi } of devs) {
      const zone = this.zones[zi]!;
      const kind = deviceKind(capabilities.get(d.type) ?? []);
      const index = this.devices.length;
      const [ox, oy] = offsets[zone.floor] ?? [0, 0, 0];
      this.devices.push({
        id: d.id,
        index,
        kind,
        zone: zi,
        floor: zone.floor,
        position: d.position ? [d.position[0] + ox, d.position[1] + oy, d.position[2]] : [zone.centroid[0], zone.centroid[1], 1],
        door: d.door !== undefined ? (this.doorById.get(d.door) ?? null) : null,
        fov: kind === 'camera' ? (d.fov ?? { heading: 0, angle: 60, range: 8 }) : null,
      });
      this.deviceById.set(d.id, index);
      this.zoneDevices[zi]!.push(index);
    }
  }
}
