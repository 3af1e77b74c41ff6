import { describe, expect, it } from 'vitest';
import {
  distancePointToSegment,
  isCounterClockwise,
  isSimplePolygon,
  nearestEdge,
  pointInPolygon,
  polygonArea,
  polygonBounds,
  polygonCentroid,
  polygonSelfIntersection,
  segmentIntersection,
  segmentsIntersect,
  signedPolygonArea,
  type Vec2,
} from '../../server/sites/geometry.ts';

const square: Vec2[] = [
  [0, 0],
  [4, 0],
  [4, 4],
  [0, 4],
];
const lShape: Vec2[] = [
  [0, 0],
  [6, 0],
  [6, 2],
  [2, 2],
  [2, 6],
  [0, 6],
];

describe('area and winding', () => {
  it('computes the area of a square and an L', () => {
    expect(polygonArea(square)).toBe(16);
    expect(polygonArea(lShape)).toBe(6 * 2 + 2 * 4);
  });
  it('signs the area by winding', () => {
    expect(signedPolygonArea(square)).toBe(16);
    expect(signedPolygonArea([...square].reverse())).toBe(-16);
    expect(isCounterClockwise(square)).toBe(true);
    expect(isCounterClockwise([...square].reverse())).toBe(false);
  });
  it('gives zero for collinear points', () => {
    expect(polygonArea([[0, 0], [1, 1], [2, 2]])).toBe(0);
  });
});

describe('centroid', () => {
  it('is the centre of a rectangle, whatever the winding', () => {
    expect(polygonCentroid(square)).toEqual([2, 2]);
    expect(polygonCentroid([...square].reverse())).toEqual([2, 2]);
  });
  it('is the area centroid of an L, not the vertex mean', () => {
    // Two rectangles: 6x2 centred (3,1) area 12, and 2x4 centred (1,4) area 8.
    const [x, y] = polygonCentroid(lShape);
    expect(x).toBeCloseTo((3 * 12 + 1 * 8) / 20, 10);
    expect(y).toBeCloseTo((1 * 12 + 4 * 8) / 20, 10);
  });
  it('stays precise far from the origin', () => {
    const far = square.map(([x, y]) => [x + 1e7, y + 1e7] as const);
    const [x, y] = polygonCentroid(far);
    expect(x).toBeCloseTo(1e7 + 2, 6);
    expect(y).toBeCloseTo(1e7 + 2, 6);
  });
  it('falls back to the vertex mean for a degenerate polygon', () => {
    expect(polygonCentroid([[0, 0], [2, 0], [4, 0]])).toEqual([2, 0]);
  });
});

describe('point in polygon', () => {
  it('finds points inside and outside a convex polygon', () => {
    expect(pointInPolygon([2, 2], square)).toBe(true);
    expect(pointInPolygon([5, 2], square)).toBe(false);
    expect(pointInPolygon([-0.01, 2], square)).toBe(false);
  });
  it('handles the notch of a concave polygon', () => {
    expect(pointInPolygon([1, 5], lShape)).toBe(true);
    expect(pointInPolygon([4, 4], lShape)).toBe(false);
  });
});

describe('distances', () => {
  it('measures to the segment interior and to its ends', () => {
    expect(distancePointToSegment([2, 3], [0, 0], [4, 0])).toBe(3);
    expect(distancePointToSegment([7, 4], [0, 0], [4, 0])).toBe(5);
    expect(distancePointToSegment([1, 1], [0, 0], [0, 0])).toBeCloseTo(Math.SQRT2, 12);
  });
  it('finds the nearest edge', () => {
    expect(nearestEdge([3.9, 2], square)).toEqual({ index: 1, distance: expect.closeTo(0.1, 12) as number });
  });
  it('bounds a polygon', () => {
    expect(polygonBounds(lShape)).toEqual({ minX: 0, minY: 0, maxX: 6, maxY: 6 });
  });
});

describe('segment intersection', () => {
  it('finds a crossing', () => {
    expect(segmentsIntersect([0, 0], [4, 4], [0, 4], [4, 0])).toBe(true);
    expect(segmentIntersection([0, 0], [4, 4], [0, 4], [4, 0])).toEqual([2, 2]);
  });
  it('counts touching ends and collinear overlaps', () => {
    expect(segmentsIntersect([0, 0], [2, 0], [2, 0], [2, 3])).toBe(true);
    expect(segmentsIntersect([0, 0], [3, 0], [2, 0], [5, 0])).toBe(true);
    expect(segmentIntersection([0, 0], [3, 0], [2, 0], [5, 0])).toEqual([2, 0]);
  });
  it('refuses parallel, collinear-apart and near-miss segments', () => {
    expect(segmentsIntersect([0, 0], [4, 0], [0, 1], [4, 1])).toBe(false);
    expect(segmentsIntersect([0, 0], [1, 0], [2, 0], [3, 0])).toBe(false);
    expect(segmentsIntersect([0, 0], [4, 0], [2, 0.001], [2, 3])).toBe(false);
    expect(segmentIntersection([0, 0], [4, 0], [0, 1], [4, 1])).toBeNull();
  });
});

describe('simple polygons', () => {
  it('accepts convex and concave simple polygons', () => {
    expect(isSimplePolygon(square)).toBe(true);
    expect(isSimplePolygon(lShape)).toBe(true);
    expect(isSimplePolygon([[0, 0], [1, 0], [0, 1]])).toBe(true);
  });
  it('refuses a bow tie', () => {
    const bowTie: Vec2[] = [
      [0, 0],
      [4, 4],
      [4, 0],
      [0, 4],
    ];
    expect(polygonSelfIntersection(bowTie)).toEqual({ kind: 'crossing', edges: [0, 2] });
    expect(isSimplePolygon(bowTie)).toBe(false);
  });
  it('refuses a repeated vertex', () => {
    expect(polygonSelfIntersection([[0, 0], [4, 0], [4, 0], [0, 4]])).toEqual({ kind: 'zero-length-edge', edge: 1 });
  });
  it('refuses an outline that doubles back on itself', () => {
    // A spike: goes out to (6,2) and back along the same line.
    expect(isSimplePolygon([[0, 0], [4, 0], [4, 2], [6, 2], [4, 2.0000000001], [4, 4], [0, 4]])).toBe(false);
    expect(isSimplePolygon([[0, 0], [4, 0], [2, 0], [2, 3]])).toBe(false);
  });
  it('refuses fewer than three points', () => {
    expect(isSimplePolygon([[0, 0], [1, 1]])).toBe(false);
  });
});
