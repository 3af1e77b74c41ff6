/**
 * Devices: one InstancedMesh per kind (door sensors, camera bodies, footfall counters), one
 * merged translucent mesh for every camera's field-of-view fan (per-vertex colour and alpha,
 * floors in contiguous ranges), and one InstancedMesh of markers above devices with a low
 * battery or a weak signal: only flagged devices are instances, so unflagged sites draw none.
 *
 * Coverage fans are quiet: hidden unless asked for (a toggle shows every fan, faint) or their
 * camera is selected (that fan only, a little stronger), so they never tint the whole twin.
 */
import {
  BoxGeometry,
  BufferAttribute,
  BufferGeometry,
  Color,
  CylinderGeometry,
  DoubleSide,
  DynamicDrawUsage,
  InstancedMesh,
  Matrix4,
  Mesh,
  MeshBasicMaterial,
  MeshLambertMaterial,
  OctahedronGeometry,
  TetrahedronGeometry,
  type Object3D,
  Quaternion,
  Vector3,
} from 'three';
import type { DeviceKind, SiteLayout } from './layout.ts';
import { STATE_COLORS } from './palette.ts';

export const FLAG_LOW_BATTERY = 1;
export const FLAG_WEAK_SIGNAL = 2;

type Instanced = InstancedMesh<BufferGeometry, MeshLambertMaterial>;

export class DeviceLayer {
  readonly sensors: Instanced;
  readonly cameras: Instanced;
  readonly counters: Instanced;
  readonly cones: Mesh<BufferGeometry, MeshBasicMaterial>;
  readonly markers: Instanced;
  /** Per kind: slot → device index. */
  private readonly slots: Record<DeviceKind, number[]> = { sensor: [], camera: [], counter: [] };
  private readonly slotOf: Int32Array;
  private readonly flags: Uint8Array;
  private readonly markerDevices: number[] = [];
  private markersDirty = true;
  private visibleFloor: number | null = null;
  private readonly coneStart: Uint32Array;
  private readonly coneCount: Uint32Array;
  private readonly coneFloors: Array<[number, number]> = [];
  private readonly coneColors: Float32Array;
  private readonly coneColorAttr: BufferAttribute;
  private readonly cameraOffline: Uint8Array;
  private coverageAll = false;
  private selected: ReadonlySet<number> = new Set();
  private readonly m = new Matrix4();
  private readonly q = new Quaternion();
  private readonly v = new Vector3();
  private readonly s = new Vector3();
  private readonly c = new Color();
  private readonly up = new Vector3(0, 0, 1);

  constructor(private readonly layout: SiteLayout) {
    const n = layout.devices.length;
    this.slotOf = new Int32Array(n);
    this.flags = new Uint8Array(n);
    this.cameraOffline = new Uint8Array(n);
    for (const d of layout.devices) {
      this.slotOf[d.index] = this.slots[d.kind].length;
      this.slots[d.kind].push(d.index);
    }
    const make = (geo: BufferGeometry, count: number, name: string): Instanced => {
      const mesh = new InstancedMesh(geo, new MeshLambertMaterial(), Math.max(1, count));
      mesh.count = count;
      mesh.frustumCulled = false;
      mesh.name = name;
      return mesh;
    };
    // Door sensors are many and small: a tetrahedron (4 triangles) rather than a box (12).
    this.sensors = make(new TetrahedronGeometry(0.2), this.slots.sensor.length, 'sensors');
    this.cameras = make(new BoxGeometry(0.5, 0.24, 0.24), this.slots.camera.length, 'cameras');
    const cyl = new CylinderGeometry(0.3, 0.3, 0.16, 8);
    cyl.rotateX(Math.PI / 2);
    this.counters = make(cyl, this.slots.counter.length, 'counters');
    this.markers = make(new OctahedronGeometry(0.32), n, 'markers');
    this.markers.count = 0;

    for (const d of layout.devices) this.writeMatrix(d.index);

    // Field-of-view fans: apex at the camera, an arc at the floor, in one merged geometry.
    const pos: number[] = [];
    const cams = this.slots.camera;
    this.coneStart = new Uint32Array(n);
    this.coneCount = new Uint32Array(n);
    let floor = -1;
    let floorStart = 0;
    for (const di of cams) {
      const d = layout.devices[di]!;
      if (d.floor !== floor) {
        if (floor >= 0) this.coneFloors[floor] = [floorStart, pos.length / 3 - floorStart];
        floor = d.floor;
        floorStart = pos.length / 3;
      }
      const fov = d.fov!;
      const e = layout.floors[d.floor]!.elevation;
      const [x, y, z] = d.position;
      const segs = Math.max(4, Math.ceil(fov.angle / 8));
      const h0 = ((fov.heading - fov.angle / 2) * Math.PI) / 180;
      const step = (fov.angle * Math.PI) / 180 / segs;
      const groundZ = e + 0.2;
      this.coneStart[di] = pos.length / 3;
      for (let i = 0; i < segs; i++) {
        const a1 = h0 + i * step;
        const a2 = a1 + step;
        pos.push(
          x, y, e + z,
          x + Math.cos(a1) * fov.range, y + Math.sin(a1) * fov.range, groundZ,
          x + Math.cos(a2) * fov.range, y + Math.sin(a2) * fov.range, groundZ,
        );
      }
      this.coneCount[di] = pos.length / 3 - this.coneStart[di]!;
    }
    if (floor >= 0) this.coneFloors[floor] = [floorStart, pos.length / 3 - floorStart];
    const geo = new BufferGeometry();
    geo.setAttribute('position', new BufferAttribute(new Float32Array(pos), 3));
    this.coneColors = new Float32Array((pos.length / 3) * 4);
    this.coneColorAttr = new BufferAttribute(this.coneColors, 4);
    this.coneColorAttr.setUsage(DynamicDrawUsage);
    geo.setAttribute('color', this.coneColorAttr);
    geo.computeBoundingSphere();
    this.cones = new Mesh(
      geo,
      new MeshBasicMaterial({ vertexColors: true, transparent: true, depthWrite: false, side: DoubleSide }),
    );
    this.cones.name = 'fov';
    this.cones.renderOrder = 2;
    this.cones.visible = false;
    for (const d of layout.devices) {
      this.setColor(d.index, d.kind === 'camera' ? STATE_COLORS.camera : d.kind === 'counter' ? STATE_COLORS.counter : STATE_COLORS.deviceUnknown);
    }
  }

  private meshOf(kind: DeviceKind): Instanced {
    return kind === 'camera' ? this.cameras : kind === 'counter' ? this.counters : this.sensors;
  }

  private hidden(floor: number): boolean {
    return this.visibleFloor !== null && floor !== this.visibleFloor;
  }

  private writeMatrix(di: number): void {
    const d = this.layout.devices[di]!;
    const mesh = this.meshOf(d.kind);
    if (this.hidden(d.floor)) this.m.makeScale(0, 0, 0);
    else {
      const e = this.layout.floors[d.floor]!.elevation;
      const heading = d.fov ? (d.fov.heading * Math.PI) / 180 : 0;
      this.q.setFromAxisAngle(this.up, heading);
      this.v.set(d.position[0], d.position[1], e + d.position[2]);
      this.m.compose(this.v, this.q, this.s.set(1, 1, 1));
    }
    mesh.setMatrixAt(this.slotOf[di]!, this.m);
    mesh.instanceMatrix.needsUpdate = true;
    mesh.boundingSphere = null;
  }

  private writeCone(di: number): void {
    const selected = this.selected.has(di);
    const alpha = selected ? 0.22 : this.coverageAll ? 0.1 : 0;
    this.c.setHex(this.cameraOffline[di] ? STATE_COLORS.offline : selected ? STATE_COLORS.coneSelected : STATE_COLORS.cone);
    const start = this.coneStart[di]! * 4;
    const end = start + this.coneCount[di]! * 4;
    for (let i = start; i < end; i += 4) {
      this.coneColors[i] = this.c.r;
      this.coneColors[i + 1] = this.c.g;
      this.coneColors[i + 2] = this.c.b;
      this.coneColors[i + 3] = alpha;
    }
    this.coneColorAttr.needsUpdate = true;
  }

  setColor(di: number, hex: number): void {
    const d = this.layout.devices[di]!;
    const mesh = this.meshOf(d.kind);
    mesh.setColorAt(this.slotOf[di]!, this.c.setHex(hex));
    mesh.instanceColor!.needsUpdate = true;
    if (d.kind === 'camera') {
      this.cameraOffline[di] = hex === STATE_COLORS.camera ? 0 : 1;
      this.writeCone(di);
    }
  }

  /** Which fans show: every one (faint) when `all`, and the selected cameras' (stronger). */
  setCoverage(all: boolean, selected: ReadonlySet<number>): void {
    this.coverageAll = all;
    this.selected = selected;
    for (const di of this.slots.camera) this.writeCone(di);
    this.cones.visible = all || [...selected].some((di) => this.layout.devices[di]?.kind === 'camera');
  }

  setFlags(di: number, flags: number): void {
    if (this.flags[di] === flags) return;
    this.flags[di] = flags;
    this.markersDirty = true;
  }

  /** Rebuilds the marker instances if flags or the visible floor changed. */
  commit(): void {
    if (!this.markersDirty) return;
    this.markersDirty = false;
    this.markerDevices.length = 0;
    const q = this.q.identity();
    for (const d of this.layout.devices) {
      const f = this.flags[d.index]!;
      if (f === 0 || this.hidden(d.floor)) continue;
      const slot = this.markerDevices.length;
      this.markerDevices.push(d.index);
      const e = this.layout.floors[d.floor]!.elevation;
      this.v.set(d.position[0], d.position[1], e + d.position[2] + 0.7);
      this.markers.setMatrixAt(slot, this.m.compose(this.v, q, this.s.set(1, 1, 1.6)));
      this.markers.setColorAt(slot, this.c.setHex(f & FLAG_LOW_BATTERY ? STATE_COLORS.lowBattery : STATE_COLORS.weakSignal));
    }
    this.markers.count = this.markerDevices.length;
    this.markers.instanceMatrix.needsUpdate = true;
    if (this.markers.instanceColor) this.markers.instanceColor.needsUpdate = true;
    this.markers.boundingSphere = null;
  }

  setVisibleFloor(floor: number | null): void {
    this.visibleFloor = floor;
    for (const d of this.layout.devices) this.writeMatrix(d.index);
    const geo = this.cones.geometry;
    if (floor === null) geo.setDrawRange(0, Infinity);
    else {
      const r = this.coneFloors[floor] ?? [0, 0];
      geo.setDrawRange(r[0], r[1]);
    }
    this.markersDirty = true;
  }

  /** The device index an instance of one of the pickable meshes stands for. */
  deviceAt(object: Object3D, instanceId: number): number | null {
    if (object === this.markers) return this.markerDevices[instanceId] ?? null;
    if (object === this.sensors) return this.slots.sensor[instanceId] ?? null;
    if (object === this.cameras) return this.slots.camera[instanceId] ?? null;
    if (object === this.counters) return this.slots.counter[instanceId] ?? null;
    return null;
  }

  get pickables(): Object3D[] {
    return [this.markers, this.sensors, this.cameras, this.counters];
  }

  dispose(): void {
    for (const mesh of [this.sensors, this.cameras, this.counters, this.markers]) {
      mesh.geometry.dispose();
      mesh.material.dispose();
      mesh.dispose();
    }
    this.cones.geometry.dispose();
    this.cones.material.dispose();
  }
}
