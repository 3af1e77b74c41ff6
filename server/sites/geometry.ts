/**
 * Plane geometry for site models: small pure functions on points and polygons in metres.
 * No imports beyond types, so the dashboard can bundle this file as it is.
 *
 * Polygons are arrays of vertices, closed implicitly (the last vertex joins the first).
 */

export type Vec2 = readonly [number, number];

/**
 * Below this, a cross product or a length counts as zero. Site coordinates are metres with
 * centimetre precision at best, so 1e-9 is far below anything meaningful yet above float noise.
 */
export const EPSILON = 1e-9;

/** Cross product of (b - a) × (c - a): > 0 if a→b→c turns left, < 0 right, 0 collinear. */
export function orientation(a: Vec2, b: Vec2, c: Vec2): number {
  return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
}

function sign(v: number): -1 | 0 | 1 {
  return Math.abs(v) <= EPSILON ? 0 : v > 0 ? 1 : -1;
}

export function distance(a: Vec2, b: Vec2): number {
  return Math.hypot(b[0] - a[0], b[1] - a[1]);
}

/** Shoelace formula: positive for counter-clockwise polygons, negative for clockwise. */
export function signedPolygonArea(polygon: readonly Vec2[]): number {
  let twice = 0;
  for (let i = 0; i < polygon.length; i++) {
    const [x1, y1] = polygon[i]!;
    const [x2, y2] = polygon[(i + 1) % polygon.length]!;
    twice += x1 * y2 - x2 * y1;
  }
  return twice / 2;
}

/** Area in square metres, whatever the winding. */
export function polygonArea(polygon: readonly Vec2[]): number {
  return Math.abs(signedPolygonArea(polygon));
}

export function isCounterClockwise(polygon: readonly Vec2[]): boolean {
  return signedPolygonArea(polygon) > 0;
}

/**
 * Area centroid (centre of mass) of a simple polygon. For a degenerate polygon (zero area),
 * falls back to the mean of the vertices, so callers always get a usable point.
 */
export function polygonCentroid(polygon: readonly Vec2[]): [number, number] {
  if (polygon.length === 0) return [0, 0];
  // Shift to the first vertex: keeps precision for sites far from the origin.
  const [ox, oy] = polygon[0]!;
  let twiceArea = 0;
  let cx = 0;
  let cy = 0;
  for (let i = 0; i < polygon.length; i++) {
    const [ax, ay] = polygon[i]!;
    const [bx, by] = polygon[(i + 1) % polygon.length]!;
    const x1 = ax - ox;
    const y1 = ay - oy;
    const x2 = bx - ox;
    const y2 = by - oy;
    const cross = x1 * y2 - x2 * y1;
    twiceArea += cross;
    cx += (x1 + x2) * cross;
    cy += (y1 + y2) * cross;
  }
  if (Math.abs(twiceArea) <= EPSILON) {
    const n = polygon.length;
    return [polygon.reduce((s, p) => s + p[0], 0) / n, polygon.reduce((s, p) => s + p[1], 0) / n];
  }
  return [ox + cx / (3 * twiceArea), oy + cy / (3 * twiceArea)];
}

export interface Bounds {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
}

export function polygonBounds(polygon: readonly Vec2[]): Bounds {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const [x, y] of polygon) {
    minX = Math.min(minX, x);
    minY = Math.min(minY, y);
    maxX = Math.max(maxX, x);
    maxY = Math.max(maxY, y);
  }
  return { minX, minY, maxX, maxY };
}

/**
 * Even-odd ray casting. Points exactly on the boundary may go either way; callers that care
 * (validate.ts accepts a sensor mounted on a wall) combine it with distanceToPolygonBoundary.
 */
export function pointInPolygon(point: Vec2, polygon: readonly Vec2[]): boolean {
  const [px, py] = point;
  let inside = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const [xi, yi] = polygon[i]!;
    const [xj, yj] = polygon[j]!;
    if (yi > py !== yj > py && px < ((xj - xi) * (py - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Shortest distance from a point to the segment a–b (to a itself if the segment is a point). */
export function distancePointToSegment(point: Vec2, a: Vec2, b: Vec2): number {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const lengthSq = dx * dx + dy * dy;
  if (lengthSq <= EPSILON * EPSILON) return distance(point, a);
  const t = Math.max(0, Math.min(1, ((point[0] - a[0]) * dx + (point[1] - a[1]) * dy) / lengthSq));
  return Math.hypot(point[0] - (a[0] + t * dx), point[1] - (a[1] + t * dy));
}

/** The polygon edge nearest to a point: its index i (from vertex i to vertex i+1) and distance. */
export function nearestEdge(point: Vec2, polygon: readonly Vec2[]): { index: number; distance: number } {
  let best = { index: -1, distance: Infinity };
  for (let i = 0; i < polygon.length; i++) {
    const d = distancePointToSegment(point, polygon[i]!, polygon[(i + 1) % polygon.length]!);
    if (d < best.distance) best = { index: i, distance: d };
  }
  return best;
}

export function distanceToPolygonBoundary(point: Vec2, polygon: readonly Vec2[]): number {
  return nearestEdge(point, polygon).distance;
}

/** Whether point c, known to be collinear with a–b, lies within the segment's bounding box. */
function onCollinearSegment(a: Vec2, b: Vec2, c: Vec2): boolean {
  return (
    c[0] <= Math.max(a[0], b[0]) + EPSILON &&
    c[0] >= Math.min(a[0], b[0]) - EPSILON &&
    c[1] <= Math.max(a[1], b[1]) + EPSILON &&
    c[1] >= Math.min(a[1], b[1]) - EPSILON
  );
}

/** Whether segments p1–p2 and q1–q2 share at least one point (touching and overlapping count). */
export function segmentsIntersect(p1: Vec2, p2: Vec2, q1: Vec2, q2: Vec2): boolean {
  const o1 = sign(orientation(p1, p2, q1));
  const o2 = sign(orientation(p1, p2, q2));
  const o3 = sign(orientation(q1, q2, p1));
  const o4 = sign(orientation(q1, q2, p2));
  if (o1 !== o2 && o3 !== o4) return true;
  return (
    (o1 === 0 && onCollinearSegment(p1, p2, q1)) ||
    (o2 === 0 && onCollinearSegment(p1, p2, q2)) ||
    (o3 === 0 && onCollinearSegment(q1, q2, p1)) ||
    (o4 === 0 && onCollinearSegment(q1, q2, p2))
  );
}

/**
 * The crossing point of segments p1–p2 and q1–q2, or null if they do not meet. Collinear
 * overlapping segments have no single crossing point: the first shared endpoint is returned.
 */
export function segmentIntersection(p1: Vec2, p2: Vec2, q1: Vec2, q2: Vec2): [number, number] | null {
  if (!segmentsIntersect(p1, p2, q1, q2)) return null;
  const rx = p2[0] - p1[0];
  const ry = p2[1] - p1[1];
  const sx = q2[0] - q1[0];
  const sy = q2[1] - q1[1];
  const denom = rx * sy - ry * sx;
  if (Math.abs(denom) <= EPSILON) {
    for (const c of [q1, q2, p1, p2]) {
      if (onCollinearSegment(p1, p2, c) && onCollinearSegment(q1, q2, c)) return [c[0], c[1]];
    }
    return null;
  }
  const t = ((q1[0] - p1[0]) * sy - (q1[1] - p1[1]) * sx) / denom;
  return [p1[0] + t * rx, p1[1] + t * ry];
}

/**
 * Why a polygon is not simple, or null if it is: a repeated vertex (zero-length edge), or two
 * edges that meet anywhere other than the vertex adjacent edges share. Edge i runs from
 * vertex i to vertex i+1. O(n²), fine for zones of a few dozen vertices.
 */
export function polygonSelfIntersection(
  polygon: readonly Vec2[],
): { kind: 'zero-length-edge'; edge: number } | { kind: 'crossing'; edges: [number, number] } | null {
  const n = polygon.length;
  const edge = (i: number): [Vec2, Vec2] => [polygon[i]!, polygon[(i + 1) % n]!];
  for (let i = 0; i < n; i++) {
    const [a, b] = edge(i);
    if (distance(a, b) <= EPSILON) return { kind: 'zero-length-edge', edge: i };
  }
  for (let i = 0; i < n; i++) {
    const [a, b] = edge(i);
    for (let j = i + 1; j < n; j++) {
      const [c, d] = edge(j);
      if (j === i + 1) {
        // Adjacent: they share b === c; anything more means the outline doubles back on itself.
        if (sign(orientation(a, b, d)) === 0 && onCollinearSegment(a, b, d)) return { kind: 'crossing', edges: [i, j] };
        if (sign(orientation(c, d, a)) === 0 && onCollinearSegment(c, d, a)) return { kind: 'crossing', edges: [i, j] };
      } else if (i === 0 && j === n - 1) {
        // Adjacent across the closing vertex: they share a === d.
        if (sign(orientation(c, d, b)) === 0 && onCollinearSegment(c, d, b)) return { kind: 'crossing', edges: [i, j] };
        if (sign(orientation(a, b, c)) === 0 && onCollinearSegment(a, b, c)) return { kind: 'crossing', edges: [i, j] };
      } else if (segmentsIntersect(a, b, c, d)) {
        return { kind: 'crossing', edges: [i, j] };
      }
    }
  }
  return null;
}

export function isSimplePolygon(polygon: readonly Vec2[]): boolean {
  return polygon.length >= 3 && polygonSelfIntersection(polygon) === null;
}
