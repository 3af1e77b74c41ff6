/**
 * How the floors are laid out for viewing, so that each can be read at first glance:
 * - in 3D, floors pulled apart vertically ("exploded"): far enough that, from the view's tilt,
 *   a floor's slab never hides the one below it;
 * - in 2D (top-down), floors side by side in a grid whose number of columns best fits the
 *   canvas, the highest floor first, each with room for its name above it.
 * Both only move floors as a whole: a floor is its model shifted by one offset.
 */
import { wallHeight } from './zones.ts';
import type { Arrangement, FloorFootprint, Vec2 } from './layout.ts';

/** Where a floor's name is written: left of the floor (3D stack) or above it (2D grid). */
export type NameSide = 'left' | 'top';

/**
 * Height of the floor names' letters, metres: in proportion to the floors, within limits.
 * Above a floor there is room to spare, so a name there is larger (a phone shows it small).
 */
export function floorNameSize(floors: ReadonlyArray<{ min: Vec2; max: Vec2 }>, side: NameSide = 'left'): number {
  let span = 0;
  for (const f of floors) span = Math.max(span, f.max[0] - f.min[0], f.max[1] - f.min[1]);
  return Math.min(8, Math.max(1.2, span * 0.035)) * (side === 'top' ? 1.5 : 1);
}

/** The depth a name above each floor adds to it, metres (none for a name at its left). */
export function nameBand(floors: ReadonlyArray<{ min: Vec2; max: Vec2 }>, side: NameSide): number {
  return side === 'top' ? floorNameSize(floors, side) * 1.8 : 0;
}

const width = (f: FloorFootprint) => f.max[0] - f.min[0];
const depth = (f: FloorFootprint) => f.max[1] - f.min[1];

/**
 * Floors one above the other, `tiltDeg` being the camera's angle above the horizon and
 * `yawDeg` its turn off the front. Seen from that tilt, a slab of depth D covers D·sin(tilt) of
 * screen height and a rise g uncovers g·cos(tilt): floors are g = D·tan(tilt)/cos(yaw) + a
 * wall + a margin apart (at least their real height), so each floor shows whole.
 */
export function explodedStack(tiltDeg: number, yawDeg: number, nameSide: NameSide = 'left'): Arrangement {
  return (floors) => {
    const tilt = (tiltDeg * Math.PI) / 180;
    const yaw = (yawDeg * Math.PI) / 180;
    // A name above (behind) each floor makes the floor that much deeper.
    const d = Math.max(0, ...floors.map(depth)) + nameBand(floors, nameSide);
    const tallest = Math.max(0, ...floors.map((f) => f.height));
    // The margin covers perspective: the lowest floors are seen a few degrees steeper.
    const gap = Math.max(tallest, (d * Math.tan(tilt)) / Math.cos(yaw) + wallHeight(tallest) + 0.25 * d + 1);
    return floors.map((_, i) => [0, 0, i * gap] as const);
  };
}

/** Columns for `n` cells of `cellW`×`cellH` that make them largest on a canvas of this aspect. */
export function bestColumns(n: number, cellW: number, cellH: number, aspect: number): number {
  let best = 1;
  let bestScale = 0;
  for (let c = 1; c <= Math.max(1, n); c++) {
    const rows = Math.ceil(n / c);
    const scale = Math.min(aspect / (c * cellW), 1 / (rows * cellH));
    if (scale > bestScale * 1.0001) {
      best = c;
      bestScale = scale;
    }
  }
  return best;
}

interface Grid {
  w: number;
  d: number;
  cellW: number;
  cellH: number;
}

function grid(floors: readonly FloorFootprint[]): Grid {
  const placed = floors.filter((f) => Number.isFinite(f.min[0]) && Number.isFinite(f.max[0]));
  const w = Math.max(1, ...placed.map(width));
  const d = Math.max(1, ...placed.map(depth));
  const gap = Math.max(2, 0.08 * Math.max(w, d));
  return { w, d, cellW: w + gap, cellH: d + nameBand(placed, 'top') + gap };
}

/** How many columns of floors fit a canvas of `aspect` (w/h) best. */
export function gridColumns(floors: readonly FloorFootprint[], aspect: number): number {
  const g = grid(floors);
  return bestColumns(floors.length, g.cellW, g.cellH, aspect);
}

/**
 * The camera's tilt (degrees above the horizon) that shows an exploded stack largest on a
 * canvas of `aspect` (w/h): steeper reads each floor better, flatter stacks them lower; of
 * equally large views, the steepest. `extraWidth` is the floor names' width, metres.
 */
export function stackTilt(floors: readonly FloorFootprint[], aspect: number, yawDeg: number, nameSide: NameSide, extraWidth: number): number {
  const yaw = (yawDeg * Math.PI) / 180;
  const fw = Math.max(1, ...floors.map(width));
  const d = Math.max(1, ...floors.map(depth)) + nameBand(floors, nameSide);
  // Turned by the yaw, a floor is wider and deeper on screen than its sides.
  const w = fw * Math.cos(yaw) + d * Math.sin(yaw) + (nameSide === 'left' ? extraWidth : 0);
  const deep = d * Math.cos(yaw) + fw * Math.sin(yaw);
  const scales: Array<[number, number]> = [];
  for (let t = 58; t >= 32; t--) {
    const gap = explodedStack(t, yawDeg, nameSide)(floors)[1]?.[2] ?? 0;
    const rad = (t * Math.PI) / 180;
    const h = (floors.length - 1) * gap * Math.cos(rad) + deep * Math.sin(rad) + 2;
    scales.push([t, Math.min(aspect / w, 1 / h)]);
  }
  // Steeper reads each floor better: worth giving up a twelfth of the size for.
  const best = Math.max(...scales.map(([, s]) => s));
  return scales.find(([, s]) => s >= 0.92 * best)![0];
}

/** Floors side by side in `columns` columns, highest first (left to right, then down). */
export function sideBySide(columns: number): Arrangement {
  return (floors) => {
    const { w, d, cellW, cellH } = grid(floors);
    const order = floors.map((_, i) => i).sort((a, b) => floors[b]!.level - floors[a]!.level);
    const offsets: Array<readonly [number, number, number]> = floors.map(() => [0, 0, 0] as const);
    order.forEach((fi, k) => {
      const f = floors[fi]!;
      const col = k % columns;
      const row = Math.floor(k / columns);
      // Rows go down the screen, which is model −y; each floor's own box is centred in its cell.
      offsets[fi] = [col * cellW + (w - width(f)) / 2 - f.min[0], -row * cellH + (d - depth(f)) / 2 - f.min[1], 0] as const;
    });
    return offsets;
  };
}
