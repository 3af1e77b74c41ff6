/**
 * The live 3D twin (TwinView). Everything hangs off one instance: no module-global scene
 * state, and dispose() releases GPU resources, observers and listeners.
 *
 * Draw calls: one merged mesh for every zone slab, one LineSegments for every wall, one
 * InstancedMesh each for door leaves, door sensors, camera bodies, footfall counters and
 * flag markers, one merged translucent mesh for all camera fans, plus one label texture per
 * labelled floor: about eight calls whatever the number of rooms.
 *
 * Updates: applyChanges() only coalesces into pending maps (latest state wins, so a
 * background tab holds at most one entry per device/zone); the next animation frame applies
 * them, recomputes colours only for the entities that changed and writes only colours that
 * differ from the last applied one. Frames are rendered on demand: a change, a control
 * gesture, a door still swinging, a camera tween or a pulsing alarm schedules one.
 */
import {
  AmbientLight,
  DirectionalLight,
  Group,
  HemisphereLight,
  MOUSE,
  OrthographicCamera,
  PerspectiveCamera,
  Raycaster,
  Scene,
  TOUCH,
  Vector2,
  Vector3,
  WebGLRenderer,
} from 'three';
import { OrbitControls } from 'three/addons/controls/OrbitControls.js';
import type { Severity } from '../../../server/alarms/types.ts';
import type { TwinBatch } from '../../../server/live/protocol.ts';
import type { DeviceState, SiteState, ZoneState } from '../../../server/twin/types.ts';
import { DeviceLayer, FLAG_LOW_BATTERY, FLAG_WEAK_SIGNAL } from './devices.ts';
import { DoorLayer } from './doors.ts';
import { LabelLayer } from './labels.ts';
import { SiteLayout, type DeviceCatalogue, type Lang } from './layout.ts';
import { KIND_COLORS, SEVERITY_COLORS, STATE_COLORS, mixHex, occupancyColor } from './palette.ts';
import type { Pick, SiteModel, TwinStats, TwinView } from './types.ts';
import { ZoneLayer } from './zones.ts';

export interface TwinViewOptions {
  /** The device catalogue (`GET /api/device-types`): how each device is drawn follows from what its type can do. */
  deviceTypes: DeviceCatalogue;
  language?: Lang;
  /** MSAA; default true. Software WebGL (SwiftShader) renders several times faster without. */
  antialias?: boolean;
}

/** Floors with labels in the stacked view; above this, labels show per selected floor only. */
const MAX_LABELLED_FLOORS = 6;
const ORTHO_HALF = 50;
const TWEEN_MS = 700;
const PULSE_MS = 1100;

interface Tween {
  t0: number;
  fromPos: Vector3;
  toPos: Vector3;
  fromTarget: Vector3;
  toTarget: Vector3;
  fromZoom: number;
  toZoom: number;
}

/** Model metres (z up) → world (y up): the root group's rotation, applied by hand. */
function toWorld(x: number, y: number, z: number): Vector3 {
  return new Vector3(x, z, -y);
}

function defaultLanguage(): Lang {
  return typeof navigator !== 'undefined' && navigator.language.toLowerCase().startsWith('zh') ? 'zh-CN' : 'en';
}

export function createTwinView(canvas: HTMLCanvasElement, site: SiteModel, opts: TwinViewOptions): TwinView {
  return new ThreeTwinView(canvas, site, opts.deviceTypes, opts.language ?? defaultLanguage(), opts.antialias ?? true);
}

class ThreeTwinView implements TwinView {
  private readonly renderer: WebGLRenderer;
  private readonly scene = new Scene();
  private readonly root = new Group();
  private readonly persp: PerspectiveCamera;
  private readonly ortho: OrthographicCamera;
  private camera: PerspectiveCamera | OrthographicCamera;
  private readonly controls: OrbitControls;
  private readonly layout: SiteLayout;
  private readonly zones: ZoneLayer;
  private readonly doors: DoorLayer;
  private readonly devices: DeviceLayer;
  private readonly labels: LabelLayer;
  private readonly resizeObserver: ResizeObserver;
  private readonly raycaster = new Raycaster();

  private mode: '3d' | '2d' = '3d';
  private floor: number | null = null;
  private readonly zoneStates = new Map<string, ZoneState>();
  private readonly deviceStates = new Map<string, DeviceState>();
  private pendingFull: SiteState | null = null;
  private readonly pendingZones = new Map<string, ZoneState>();
  private readonly pendingDevices = new Map<string, DeviceState>();
  private readonly dirtyZones = new Set<number>();
  private readonly dirtyDevices = new Set<number>();
  /** Last colour written per zone/device, -1 before the first. */
  private readonly zoneColor: Int32Array;
  private readonly deviceColor: Int32Array;
  private readonly doorHasSensor: Uint8Array;
  private alarms = new Map<number, Severity>();
  private armed = new Set<number>();

  private raf = 0;
  private lastFrameAt = 0;
  private tween: Tween | null = null;
  private labelKey = '';
  private lastCalls = 0;
  private lastTriangles = 0;
  private frameLog: Array<[number, number]> = [];
  private updateLog: Array<[number, number]> = [];
  private readonly listeners = new Set<(pick: Pick) => void>();
  private down: { x: number; y: number; t: number } | null = null;
  private disposed = false;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    site: SiteModel,
    deviceTypes: DeviceCatalogue,
    language: Lang,
    antialias: boolean,
  ) {
    this.renderer = new WebGLRenderer({ canvas, antialias, powerPreference: 'high-performance' });
    this.renderer.setPixelRatio(Math.min(2, window.devicePixelRatio || 1));
    this.renderer.setClearColor(0xf1f5f9, 1);
    this.renderer.info.autoReset = true;

    this.layout = new SiteLayout(site, language, deviceTypes);
    this.root.rotation.x = -Math.PI / 2;
    this.scene.add(this.root);
    this.scene.add(new HemisphereLight(0xffffff, 0x94a3b8, 1.6));
    this.scene.add(new AmbientLight(0xffffff, 0.4));
    const sun = new DirectionalLight(0xffffff, 1.4);
    sun.position.set(0.4, 1, 0.3);
    this.scene.add(sun);

    this.zones = new ZoneLayer(this.layout);
    this.doors = new DoorLayer(this.layout);
    this.devices = new DeviceLayer(this.layout);
    this.labels = new LabelLayer(this.layout, (m) => this.root.add(m), this.renderer.capabilities.getMaxAnisotropy());
    this.root.add(this.zones.mesh, this.zones.walls, this.doors.mesh, this.devices.sensors, this.devices.cameras);
    this.root.add(this.devices.counters, this.devices.markers, this.devices.cones);

    this.zoneColor = new Int32Array(this.layout.zones.length).fill(-1);
    this.deviceColor = new Int32Array(this.layout.devices.length).fill(-1);
    this.doorHasSensor = new Uint8Array(this.layout.doors.length);
    for (const d of this.layout.devices) if (d.door !== null) this.doorHasSensor[d.door] = 1;
    for (let i = 0; i < this.layout.zones.length; i++) this.dirtyZones.add(i);

    const w = Math.max(1, canvas.clientWidth);
    const h = Math.max(1, canvas.clientHeight);
    this.persp = new PerspectiveCamera(45, w / h, 0.1, 20000);
    this.ortho = new OrthographicCamera(-ORTHO_HALF, ORTHO_HALF, ORTHO_HALF, -ORTHO_HALF, 0.1, 20000);
    this.camera = this.persp;
    this.controls = new OrbitControls(this.persp, canvas);
    this.controls.enableDamping = true;
    this.controls.dampingFactor = 0.12;
    this.controls.maxPolarAngle = Math.PI * 0.495;
    this.controls.addEventListener('change', this.invalidate);
    this.configureControls();

    this.resize();
    this.resizeObserver = new ResizeObserver(() => this.resize());
    this.resizeObserver.observe(canvas);
    canvas.addEventListener('pointerdown', this.onPointerDown);
    canvas.addEventListener('pointerup', this.onPointerUp);
    this.updateLabels();
    this.fit(false);
    this.invalidate();
  }

  // ---- TwinView ----------------------------------------------------------------------

  setState(state: SiteState): void {
    this.pendingFull = state;
    this.pendingZones.clear();
    this.pendingDevices.clear();
    this.countUpdates(Object.keys(state.devices).length + Object.keys(state.zones).length);
    this.invalidate();
  }

  applyChanges(batch: TwinBatch): void {
    let n = 0;
    for (const [id, st] of Object.entries(batch.devices)) {
      this.pendingDevices.set(id, st);
      n++;
    }
    for (const [id, st] of Object.entries(batch.zones)) {
      this.pendingZones.set(id, st);
      n++;
    }
    this.countUpdates(n);
    this.invalidate();
  }

  setAlarms(zones: ReadonlyArray<{ zone: string; severity: Severity }>): void {
    const rank: Record<Severity, number> = { critical: 0, major: 1, minor: 2, warning: 3, info: 4 };
    const next = new Map<number, Severity>();
    for (const { zone, severity } of zones) {
      const zi = this.layout.zoneById.get(zone);
      if (zi === undefined) continue;
      const cur = next.get(zi);
      if (cur === undefined || rank[severity] < rank[cur]) next.set(zi, severity);
    }
    for (const zi of this.alarms.keys()) if (next.get(zi) !== this.alarms.get(zi)) this.dirtyZones.add(zi);
    for (const zi of next.keys()) if (next.get(zi) !== this.alarms.get(zi)) this.dirtyZones.add(zi);
    this.alarms = next;
    this.invalidate();
  }

  setArmed(zones: string[]): void {
    const next = new Set<number>();
    for (const z of zones) {
      const zi = this.layout.zoneById.get(z);
      if (zi !== undefined) next.add(zi);
    }
    for (const zi of this.armed) if (!next.has(zi)) this.dirtyZones.add(zi);
    for (const zi of next) if (!this.armed.has(zi)) this.dirtyZones.add(zi);
    this.armed = next;
    this.invalidate();
  }

  flyTo(zone: string): void {
    const zi = this.layout.zoneById.get(zone);
    if (zi === undefined) return;
    const z = this.layout.zones[zi]!;
    if (this.floor !== null && this.floor !== z.floor) this.setFloor(z.floor);
    const fl = this.layout.floors[z.floor]!;
    const target = toWorld(z.centroid[0], z.centroid[1], fl.elevation);
    const size = Math.max(6, z.max[0] - z.min[0], z.max[1] - z.min[1]);
    if (this.mode === '2d') {
      this.startTween(target.clone().add(new Vector3(0, 1000, 0.001)), target, this.orthoZoomFor(size * 3, size * 3));
    } else {
      const dir = this.persp.position.clone().sub(this.controls.target).normalize();
      if (dir.y < 0.5) dir.setY(0.5).normalize();
      this.startTween(target.clone().addScaledVector(dir, size * 2.2 + 10), target, 1);
    }
  }

  showFloor(floor: string): void {
    const fi = floor === 'all' ? null : (this.layout.floorById.get(floor) ?? null);
    if (floor !== 'all' && fi === null) return;
    this.setFloor(fi);
    this.fit(true);
  }

  setMode(mode: '3d' | '2d'): void {
    if (mode === this.mode) return;
    this.mode = mode;
    const target = this.controls.target.clone();
    if (mode === '2d') {
      this.camera = this.ortho;
      this.ortho.position.copy(target).add(new Vector3(0, 1000, 0.001));
    } else {
      this.camera = this.persp;
    }
    this.controls.object = this.camera;
    this.configureControls();
    this.controls.update();
    this.fit(false);
    this.invalidate();
  }

  fitToFloor(): void {
    this.fit(true);
  }

  onPick(listener: (pick: Pick) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stats(): TwinStats {
    const now = performance.now();
    this.prune(now);
    const frames = this.frameLog.length;
    return {
      drawCalls: this.lastCalls,
      triangles: this.lastTriangles,
      frameMs: frames ? this.frameLog.reduce((s, [, ms]) => s + ms, 0) / frames : 0,
      updatesPerSecond: this.updateLog.reduce((s, [, n]) => s + n, 0),
    };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.raf) cancelAnimationFrame(this.raf);
    this.raf = 0;
    this.resizeObserver.disconnect();
    this.canvas.removeEventListener('pointerdown', this.onPointerDown);
    this.canvas.removeEventListener('pointerup', this.onPointerUp);
    this.controls.removeEventListener('change', this.invalidate);
    this.controls.dispose();
    this.labels.dispose();
    this.zones.dispose();
    this.doors.dispose();
    this.devices.dispose();
    this.listeners.clear();
    this.renderer.dispose();
  }

  // ---- frame loop --------------------------------------------------------------------

  private readonly invalidate = (): void => {
    if (this.disposed || this.raf) return;
    this.raf = requestAnimationFrame(this.frame);
  };

  private readonly frame = (now: number): void => {
    this.raf = 0;
    if (this.disposed) return;
    const t0 = performance.now();
    const dt = this.lastFrameAt ? Math.min(100, now - this.lastFrameAt) : 16;
    this.lastFrameAt = now;
    let again = false;
    this.flush();
    if (this.doors.step(dt)) again = true;
    if (this.alarms.size > 0) {
      this.pulse(now);
      again = true;
    }
    if (this.tween && this.stepTween(t0)) again = true;
    if (this.controls.update()) again = true;
    this.zones.commit();
    this.devices.commit();
    this.renderer.render(this.scene, this.camera);
    this.lastCalls = this.renderer.info.render.calls;
    this.lastTriangles = this.renderer.info.render.triangles;
    const end = performance.now();
    this.frameLog.push([end, end - t0]);
    this.prune(end);
    if (again) this.invalidate();
    else this.lastFrameAt = 0;
  };

  private prune(now: number): void {
    const cut = now - 1000;
    let i = 0;
    while (i < this.frameLog.length && this.frameLog[i]![0] < cut) i++;
    if (i) this.frameLog.splice(0, i);
    i = 0;
    while (i < this.updateLog.length && this.updateLog[i]![0] < cut) i++;
    if (i) this.updateLog.splice(0, i);
  }

  private countUpdates(n: number): void {
    const now = performance.now();
    const last = this.updateLog[this.updateLog.length - 1];
    if (last && now - last[0] < 50) last[1] += n;
    else this.updateLog.push([now, n]);
    if (this.updateLog.length > 64) this.prune(now);
  }

  // ---- state → colours ----------------------------------------------------------------

  private flush(): void {
    const L = this.layout;
    let immediate = false;
    if (this.pendingFull) {
      const full = this.pendingFull;
      this.pendingFull = null;
      immediate = true;
      this.zoneStates.clear();
      this.deviceStates.clear();
      for (const [id, st] of Object.entries(full.zones)) this.zoneStates.set(id, st);
      for (const [id, st] of Object.entries(full.devices)) this.deviceStates.set(id, st);
      for (let i = 0; i < L.zones.length; i++) this.dirtyZones.add(i);
      for (let i = 0; i < L.devices.length; i++) this.dirtyDevices.add(i);
    }
    for (const [id, st] of this.pendingDevices) {
      this.deviceStates.set(id, st);
      const di = L.deviceById.get(id);
      if (di === undefined) continue;
      this.dirtyDevices.add(di);
      this.dirtyZones.add(L.devices[di]!.zone);
    }
    this.pendingDevices.clear();
    for (const [id, st] of this.pendingZones) {
      this.zoneStates.set(id, st);
      const zi = L.zoneById.get(id);
      if (zi !== undefined) this.dirtyZones.add(zi);
    }
    this.pendingZones.clear();

    for (const di of this.dirtyDevices) {
      const d = L.devices[di]!;
      const st = this.deviceStates.get(d.id);
      const color = this.deviceColorOf(d.kind, st);
      if (color !== this.deviceColor[di]) {
        this.deviceColor[di] = color;
        this.devices.setColor(di, color);
      }
      let flags = 0;
      if (st?.batteryPct != null && st.batteryPct < 20) flags |= FLAG_LOW_BATTERY;
      if (st?.rsrp != null && st.rsrp < -110) flags |= FLAG_WEAK_SIGNAL;
      this.devices.setFlags(di, flags);
      if (d.door !== null) this.doors.setOpen(d.door, st?.door === 'open', immediate);
    }
    this.dirtyDevices.clear();

    for (const zi of this.dirtyZones) {
      const color = this.zoneColorOf(zi);
      if (color !== this.zoneColor[zi]) {
        this.zoneColor[zi] = color;
        this.zones.setColor(zi, color);
      }
    }
    // Door leaves without a sensor of their own follow their zone's door state.
    if (this.dirtyZones.size > 0) {
      for (const door of L.doors) {
        if (this.doorHasSensor[door.index] || !this.dirtyZones.has(door.zone)) continue;
        this.doors.setOpen(door.index, this.zoneStates.get(L.zones[door.zone]!.id)?.door === 'open', immediate);
      }
    }
    this.dirtyZones.clear();
    this.updateLabels();
  }

  private deviceColorOf(kind: string, st: DeviceState | undefined): number {
    const normal = kind === 'camera' ? STATE_COLORS.camera : kind === 'counter' ? STATE_COLORS.counter : STATE_COLORS.deviceOnline;
    if (!st || st.online === null) return kind === 'sensor' ? STATE_COLORS.deviceUnknown : normal;
    if (st.online === false) return STATE_COLORS.deviceOffline;
    if (st.tamper) return STATE_COLORS.tamper;
    return normal;
  }

  private zoneColorOf(zi: number): number {
    const z = this.layout.zones[zi]!;
    const sev = this.alarms.get(zi);
    if (sev) return SEVERITY_COLORS[sev];
    const st = this.zoneStates.get(z.id);
    const open = st?.door === 'open';
    if (this.armed.has(zi)) return open ? STATE_COLORS.armedOpen : STATE_COLORS.armed;
    if (open) return STATE_COLORS.doorOpen;
    const devs = this.layout.zoneDevices[zi]!;
    if (devs.length > 0 && devs.every((di) => this.deviceStates.get(this.layout.devices[di]!.id)?.online === false)) {
      return STATE_COLORS.offline;
    }
    const cap = st?.capacity ?? z.capacity;
    if (cap && st?.occupancy != null) return occupancyColor(st.occupancy / cap);
    return KIND_COLORS[z.kind];
  }

  private pulse(now: number): void {
    const k = 0.5 - 0.5 * Math.cos((now / PULSE_MS) * 2 * Math.PI);
    for (const [zi, sev] of this.alarms) {
      const c = mixHex(SEVERITY_COLORS[sev], 0xffffff, 0.6 * k);
      this.zoneColor[zi] = c;
      this.zones.setColor(zi, c);
    }
  }

  // ---- floors, labels, camera ---------------------------------------------------------

  private setFloor(fi: number | null): void {
    if (fi === this.floor) return;
    this.floor = fi;
    this.zones.setVisibleFloor(fi);
    this.doors.setVisibleFloor(fi);
    this.devices.setVisibleFloor(fi);
    this.updateLabels();
    this.invalidate();
  }

  private updateLabels(): void {
    const floors = new Set<number>();
    if (this.floor !== null) floors.add(this.floor);
    else if (this.layout.floors.length <= MAX_LABELLED_FLOORS) this.layout.floors.forEach((f) => floors.add(f.index));
    const key = [...floors].join(',');
    if (key === this.labelKey) return;
    this.labelKey = key;
    this.labels.show(floors);
  }

  private configureControls(): void {
    const c = this.controls;
    if (this.mode === '2d') {
      c.enableRotate = false;
      c.minPolarAngle = 0;
      c.maxPolarAngle = 0;
      c.mouseButtons = { LEFT: MOUSE.PAN, MIDDLE: MOUSE.DOLLY, RIGHT: MOUSE.PAN };
      c.touches = { ONE: TOUCH.PAN, TWO: TOUCH.DOLLY_PAN };
    } else {
      c.enableRotate = true;
      c.minPolarAngle = 0;
      c.maxPolarAngle = Math.PI * 0.495;
      c.mouseButtons = { LEFT: MOUSE.ROTATE, MIDDLE: MOUSE.DOLLY, RIGHT: MOUSE.PAN };
      c.touches = { ONE: TOUCH.ROTATE, TWO: TOUCH.DOLLY_PAN };
    }
  }

  private resize(): void {
    const w = Math.max(1, this.canvas.clientWidth);
    const h = Math.max(1, this.canvas.clientHeight);
    this.renderer.setSize(w, h, false);
    this.persp.aspect = w / h;
    this.persp.updateProjectionMatrix();
    const a = w / h;
    this.ortho.left = -ORTHO_HALF * a;
    this.ortho.right = ORTHO_HALF * a;
    this.ortho.top = ORTHO_HALF;
    this.ortho.bottom = -ORTHO_HALF;
    this.ortho.updateProjectionMatrix();
    this.invalidate();
  }

  private orthoZoomFor(width: number, depth: number): number {
    const a = this.persp.aspect;
    return 0.9 * Math.min((2 * ORTHO_HALF * a) / Math.max(1, width), (2 * ORTHO_HALF) / Math.max(1, depth));
  }

  /** Frames the shown floors' bounds. */
  private fit(animate: boolean): void {
    const floors = this.floor === null ? this.layout.floors : [this.layout.floors[this.floor]!];
    let minX = Infinity;
    let minY = Infinity;
    let maxX = -Infinity;
    let maxY = -Infinity;
    let minZ = Infinity;
    let maxZ = -Infinity;
    for (const f of floors) {
      minX = Math.min(minX, f.min[0]);
      minY = Math.min(minY, f.min[1]);
      maxX = Math.max(maxX, f.max[0]);
      maxY = Math.max(maxY, f.max[1]);
      minZ = Math.min(minZ, f.elevation);
      maxZ = Math.max(maxZ, f.elevation + f.height * 0.5);
    }
    if (!Number.isFinite(minX)) return;
    const center = toWorld((minX + maxX) / 2, (minY + maxY) / 2, (minZ + maxZ) / 2);
    const width = maxX - minX;
    const depth = maxY - minY;
    if (this.mode === '2d') {
      const pos = center.clone().add(new Vector3(0, 1000, 0.001));
      const zoom = this.orthoZoomFor(width, depth);
      if (animate) this.startTween(pos, center, zoom);
      else this.jump(pos, center, zoom);
      return;
    }
    const radius = 0.5 * Math.hypot(width, depth, maxZ - minZ);
    const vfov = (this.persp.fov * Math.PI) / 180;
    const hfov = 2 * Math.atan(Math.tan(vfov / 2) * this.persp.aspect);
    const dist = (radius / Math.sin(Math.min(vfov, hfov) / 2)) * 0.62;
    const dir = new Vector3(0.12, 0.75, 0.65).normalize();
    const pos = center.clone().addScaledVector(dir, dist);
    if (animate) this.startTween(pos, center, 1);
    else this.jump(pos, center, 1);
  }

  private jump(pos: Vector3, target: Vector3, zoom: number): void {
    this.tween = null;
    this.camera.position.copy(pos);
    this.controls.target.copy(target);
    if (this.camera === this.ortho) {
      this.ortho.zoom = zoom;
      this.ortho.updateProjectionMatrix();
    }
    this.controls.update();
    this.invalidate();
  }

  private startTween(pos: Vector3, target: Vector3, zoom: number): void {
    this.tween = {
      t0: performance.now(),
      fromPos: this.camera.position.clone(),
      toPos: pos,
      fromTarget: this.controls.target.clone(),
      toTarget: target,
      fromZoom: this.camera === this.ortho ? this.ortho.zoom : 1,
      toZoom: zoom,
    };
    this.invalidate();
  }

  private stepTween(now: number): boolean {
    const tw = this.tween!;
    const t = Math.min(1, (now - tw.t0) / TWEEN_MS);
    const e = t < 0.5 ? 4 * t * t * t : 1 - Math.pow(-2 * t + 2, 3) / 2;
    this.camera.position.lerpVectors(tw.fromPos, tw.toPos, e);
    this.controls.target.lerpVectors(tw.fromTarget, tw.toTarget, e);
    if (this.camera === this.ortho) {
      this.ortho.zoom = tw.fromZoom + (tw.toZoom - tw.fromZoom) * e;
      this.ortho.updateProjectionMatrix();
    }
    if (t >= 1) this.tween = null;
    return t < 1;
  }

  // ---- picking ------------------------------------------------------------------------

  private readonly onPointerDown = (ev: PointerEvent): void => {
    this.down = { x: ev.clientX, y: ev.clientY, t: performance.now() };
  };

  private readonly onPointerUp = (ev: PointerEvent): void => {
    const d = this.down;
    this.down = null;
    if (!d || Math.hypot(ev.clientX - d.x, ev.clientY - d.y) > 6 || performance.now() - d.t > 600) return;
    const pick = this.pickAt(ev.clientX, ev.clientY);
    if (pick) for (const l of this.listeners) l(pick);
  };

  /** What is under a point of the page (client coordinates). */
  pickAt(clientX: number, clientY: number): Pick | null {
    const rect = this.canvas.getBoundingClientRect();
    const ndc = new Vector2(((clientX - rect.left) / rect.width) * 2 - 1, -((clientY - rect.top) / rect.height) * 2 + 1);
    this.raycaster.setFromCamera(ndc, this.camera);
    const targets = [...this.devices.pickables, this.doors.mesh, this.zones.mesh];
    for (const hit of this.raycaster.intersectObjects(targets, false)) {
      if (hit.object === this.zones.mesh && hit.faceIndex != null) {
        const zi = this.zones.zoneOfFace(hit.faceIndex);
        if (zi !== null) return { kind: 'zone', id: this.layout.zones[zi]!.id };
      } else if (hit.object === this.doors.mesh && hit.instanceId != null) {
        const door = this.doors.doorAt(hit.instanceId);
        if (door !== null) return { kind: 'zone', id: this.layout.zones[this.layout.doors[door]!.zone]!.id };
      } else if (hit.instanceId != null) {
        const di = this.devices.deviceAt(hit.object, hit.instanceId);
        if (di !== null) return { kind: 'device', id: this.layout.devices[di]!.id };
      }
    }
    return null;
  }
}

