/**
 * Zone slabs and walls. Zone polygons differ in shape, so they cannot share one instanced
 * geometry: all zones of the site are extruded into ONE merged, non-indexed BufferGeometry
 * with a per-vertex colour attribute (one draw call for every room of every floor). Each zone
 * owns a contiguous vertex range, so recolouring a zone rewrites only its few vertices and
 * uploads only that range. Zones are laid out floor by floor, so showing one floor is a
 * draw range, not a rebuild. Walls are one merged LineSegments, laid out the same way.
 */
import {
  BufferAttribute,
  Color,
  BufferGeometry,
  DynamicDrawUsage,
  LineBasicMaterial,
  LineSegments,
  Mesh,
  MeshBasicMaterial,
  ShapeUtils,
  Vector2,
} from 'three';
import { STATE_COLORS } from './palette.ts';
import { slabThickness, type SiteLayout } from './layout.ts';

/** Height of the drawn walls above the slab, metres: a cut-away, so doors and rooms show. */
export function wallHeight(floorHeight: number): number {
  return Math.min(1.4, floorHeight * 0.45);
}

export class ZoneLayer {
  readonly mesh: Mesh<BufferGeometry, MeshBasicMaterial>;
  readonly walls: LineSegments<BufferGeometry, LineBasicMaterial>;
  private readonly colors: Float32Array;
  private readonly colorAttr: BufferAttribute;
  private readonly vStart: Uint32Array;
  private readonly vCount: Uint32Array;
  private readonly triZone: Uint32Array;
  private readonly floorVerts: Array<[number, number]> = [];
  private readonly floorLines: Array<[number, number]> = [];
  private ranges: Array<[number, number]> = [];
  private readonly color = new Color();

  constructor(private readonly layout: SiteLayout) {
    const pos: number[] = [];
    const lines: number[] = [];
    const triZone: number[] = [];
    const n = layout.zones.length;
    this.vStart = new Uint32Array(n);
    this.vCount = new Uint32Array(n);
    // Floors are laid out top floor first: seen from above, the upper floors then hide the
    // lower ones by early depth rejection, which matters to software WebGL's fill rate.
    const byFloor: number[][] = layout.floors.map(() => []);
    for (const z of layout.zones) byFloor[z.floor]!.push(z.index);
    for (let f = layout.floors.length - 1; f >= 0; f--) {
      const floorV = pos.length / 3;
      const floorL = lines.length / 3;
      for (const zi of byFloor[f]!) {
        const z = layout.zones[zi]!;
        const fl = layout.floors[z.floor]!;
        const e = fl.elevation;
        const top = e + slabThickness(z.kind);
        this.vStart[z.index] = pos.length / 3;
        const p = z.polygon;
        const tris = ShapeUtils.triangulateShape(
          p.map(([x, y]) => new Vector2(x, y)),
          [],
        );
        for (const tri of tris) {
          const a = p[tri[0]!]!;
          let b = p[tri[1]!]!;
          let c = p[tri[2]!]!;
          // Faces up (+z): counter-clockwise seen from above.
          if ((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]) < 0) [b, c] = [c, b];
          pos.push(a[0], a[1], top, b[0], b[1], top, c[0], c[1], top);
          triZone.push(z.index);
        }
        this.vCount[z.index] = pos.length / 3 - this.vStart[z.index]!;
        if (z.kind !== 'corridor') {
          const h = top + wallHeight(fl.height);
          for (let i = 0; i < p.length; i++) {
            const [ax, ay] = p[i]!;
            const [bx, by] = p[(i + 1) % p.length]!;
            lines.push(ax, ay, top + 0.01, bx, by, top + 0.01, ax, ay, h, bx, by, h, ax, ay, top, ax, ay, h);
          }
        } else {
          for (let i = 0; i < p.length; i++) {
            const [ax, ay] = p[i]!;
            const [bx, by] = p[(i + 1) % p.length]!;
            lines.push(ax, ay, top + 0.01, bx, by, top + 0.01);
          }
        }
      }
      this.floorVerts[f] = [floorV, pos.length / 3 - floorV];
      this.floorLines[f] = [floorL, lines.length / 3 - floorL];
    }
    const geo = new BufferGeometry();
    geo.setAttribute('position', new BufferAttribute(new Float32Array(pos), 3));
    this.colors = new Float32Array(pos.length).fill(0.8);
    this.colorAttr = new BufferAttribute(this.colors, 3);
    this.colorAttr.setUsage(DynamicDrawUsage);
    geo.setAttribute('color', this.colorAttr);
    geo.computeBoundingSphere();
    this.triZone = Uint32Array.from(triZone);
    this.mesh = new Mesh(geo, new MeshBasicMaterial({ vertexColors: true }));
    this.mesh.name = 'zones';

    const lgeo = new BufferGeometry();
    lgeo.setAttribute('position', new BufferAttribute(new Float32Array(lines), 3));
    lgeo.computeBoundingSphere();
    this.walls = new LineSegments(lgeo, new LineBasicMaterial({ color: STATE_COLORS.outline, transparent: true, opacity: 0.75 }));
    this.walls.name = 'walls';
  }

  /**
   * Writes a zone's colour into the buffer; uploaded by commit(). Vertex colours are in the
   * renderer's linear working space: the palette's sRGB hex goes through Color.setHex, so the
   * zone shows the palette's colour, not a paler one.
   */
  setColor(zone: number, hex: number): void {
    const { r, g, b } = this.color.setHex(hex);
    const start = this.vStart[zone]!;
    const count = this.vCount[zone]!;
    const c = this.colors;
    for (let i = start * 3, end = (start + count) * 3; i < end; i += 3) {
      c[i] = r;
      c[i + 1] = g;
      c[i + 2] = b;
    }
    this.ranges.push([start * 3, count * 3]);
  }

  /** Uploads the ranges written since the last commit; many scattered ranges → one upload. */
  commit(): void {
    if (this.ranges.length === 0) return;
    this.colorAttr.clearUpdateRanges();
    if (this.ranges.length <= 64) for (const [s, n] of this.ranges) this.colorAttr.addUpdateRange(s, n);
    this.colorAttr.needsUpdate = true;
    this.ranges = [];
  }

  zoneOfFace(faceIndex: number): number | null {
    return this.triZone[faceIndex] ?? null;
  }

  /** null shows every floor. */
  setVisibleFloor(floor: number | null): void {
    const geo = this.mesh.geometry;
    const lgeo = this.walls.geometry;
    if (floor === null) {
      geo.setDrawRange(0, Infinity);
      lgeo.setDrawRange(0, Infinity);
    } else {
      const [vs, vc] = this.floorVerts[floor] ?? [0, 0];
      const [ls, lc] = this.floorLines[floor] ?? [0, 0];
      geo.setDrawRange(vs, vc);
      lgeo.setDrawRange(ls, lc);
    }
  }

  get zoneCount(): number {
    return this.layout.zones.length;
  }

  dispose(): void {
    this.mesh.geometry.dispose();
    this.mesh.material.dispose();
    this.walls.geometry.dispose();
    this.walls.material.dispose();
  }
}
