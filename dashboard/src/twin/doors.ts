/**
 * Door leaves: one InstancedMesh of unit quads, each hinged at the door's `from` point and
 * scaled to the leaf's width. An open door swings ~80° into its zone; the swing is animated
 * (only the instances that move are rewritten each frame).
 */
import { Color, DoubleSide, InstancedMesh, Matrix4, MeshLambertMaterial, PlaneGeometry, Quaternion, Vector3 } from 'three';
import { slabThickness, type SiteLayout } from './layout.ts';
import { wallHeight } from './zones.ts';
import { STATE_COLORS } from './palette.ts';

const SWING = (80 * Math.PI) / 180;
/** Seconds for a full swing. */
const SWING_S = 0.6;

export class DoorLayer {
  readonly mesh: InstancedMesh<PlaneGeometry, MeshLambertMaterial>;
  private readonly angle0: Float32Array;
  private readonly side: Float32Array;
  private readonly width: Float32Array;
  private readonly leafH: Float32Array;
  private readonly base: Float32Array;
  private readonly open: Float32Array;
  private readonly target: Float32Array;
  private readonly moving = new Set<number>();
  private visibleFloor: number | null = null;
  private readonly m = new Matrix4();
  private readonly q = new Quaternion();
  private readonly v = new Vector3();
  private readonly s = new Vector3();
  private readonly c = new Color();
  private readonly axis = new Vector3(0, 0, 1);

  constructor(private readonly layout: SiteLayout) {
    const n = layout.doors.length;
    // A leaf is one double-sided quad (2 triangles) from the hinge: x along the leaf, z up.
    const geo = new PlaneGeometry(1, 1);
    geo.rotateX(Math.PI / 2);
    geo.translate(0.5, 0, 0.5);
    this.mesh = new InstancedMesh(geo, new MeshLambertMaterial({ side: DoubleSide }), Math.max(1, n));
    this.mesh.count = n;
    this.mesh.frustumCulled = false;
    this.mesh.name = 'doors';
    this.angle0 = new Float32Array(n);
    this.side = new Float32Array(n);
    this.width = new Float32Array(n);
    this.leafH = new Float32Array(n);
    this.base = new Float32Array(n);
    this.open = new Float32Array(n);
    this.target = new Float32Array(n);
    for (const d of layout.doors) {
      const dx = d.to[0] - d.from[0];
      const dy = d.to[1] - d.from[1];
      const zone = layout.zones[d.zone]!;
      const cx = zone.centroid[0] - d.from[0];
      const cy = zone.centroid[1] - d.from[1];
      const fl = layout.floors[d.floor]!;
      this.angle0[d.index] = Math.atan2(dy, dx);
      this.side[d.index] = dx * cy - dy * cx >= 0 ? 1 : -1;
      this.width[d.index] = Math.max(0.2, Math.hypot(dx, dy));
      // As tall as the cut-away walls: a full-height leaf would hide the rooms behind it.
      this.leafH[d.index] = wallHeight(fl.height);
      this.base[d.index] = fl.elevation + slabThickness(zone.kind);
      this.mesh.setColorAt(d.index, this.c.setHex(STATE_COLORS.doorClosed));
      this.write(d.index);
    }
  }

  private write(i: number): void {
    const d = this.layout.doors[i]!;
    if (this.visibleFloor !== null && d.floor !== this.visibleFloor) {
      this.m.makeScale(0, 0, 0);
    } else {
      const o = this.open[i]!;
      const eased = o * o * (3 - 2 * o);
      this.q.setFromAxisAngle(this.axis, this.angle0[i]! + this.side[i]! * SWING * eased);
      this.v.set(d.from[0], d.from[1], this.base[i]!);
      this.s.set(this.width[i]!, 1, this.leafH[i]!);
      this.m.compose(this.v, this.q, this.s);
    }
    this.mesh.setMatrixAt(i, this.m);
    this.mesh.instanceMatrix.needsUpdate = true;
    this.mesh.boundingSphere = null;
  }

  /** Returns true if the door will move (animation needed). */
  setOpen(i: number, open: boolean, immediate = false): boolean {
    const t = open ? 1 : 0;
    if (this.target[i] === t && this.open[i] === t) return false;
    this.target[i] = t;
    this.mesh.setColorAt(i, this.c.setHex(open ? STATE_COLORS.doorLeafOpen : STATE_COLORS.doorClosed));
    if (this.mesh.instanceColor) this.mesh.instanceColor.needsUpdate = true;
    if (immediate) {
      this.open[i] = t;
      this.moving.delete(i);
      this.write(i);
      return false;
    }
    this.moving.add(i);
    return true;
  }

  /** Advances the swings; true while some door is still moving. */
  step(dtMs: number): boolean {
    if (this.moving.size === 0) return false;
    const k = dtMs / 1000 / SWING_S;
    for (const i of this.moving) {
      const t = this.target[i]!;
      const o = this.open[i]!;
      const next = t > o ? Math.min(t, o + k) : Math.max(t, o - k);
      this.open[i] = next;
      if (next === t) this.moving.delete(i);
      this.write(i);
    }
    return this.moving.size > 0;
  }

  setVisibleFloor(floor: number | null): void {
    this.visibleFloor = floor;
    for (let i = 0; i < this.layout.doors.length; i++) this.write(i);
  }

  doorAt(instanceId: number): number | null {
    return instanceId < this.layout.doors.length ? instanceId : null;
  }

  dispose(): void {
    this.mesh.geometry.dispose();
    this.mesh.material.dispose();
    this.mesh.dispose();
  }
}
