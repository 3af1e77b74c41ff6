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
 *
 * Legible at first glance: in 3D the floors are pulled apart (twin/arrange.ts) and the camera
 * tilted so no floor hides another; in 2D they lie side by side. fit() frames what is shown by
 * projecting its corners through the camera, with margins, whatever the canvas' shape; it runs
 * at start, on "Fit", and on every resize until the user moves the camera. Changing mode (or
 * the canvas' shape enough to change the arrangement) rebuilds the layers: a few ms.
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
import { explodedStack, floorNameSize, gridColumns, sideBySide, stackTilt, type NameSide } from './arrange.ts';
import { DeviceLayer, FLAG_LOW_BATTERY, FLAG_WEAK_SIGNAL } from './devices.ts';
import { DoorLayer } from './doors.ts';
import { LabelLayer } from './labels.ts';
import { SiteLayout, footprints, slabThickness, type DeviceCatalogue, type FloorFootprint, type Lang } from './layout.ts';
import { KIND_COLORS, PULSE_COLORS, SEVERITY_COLORS, STATE_COLORS, occupancyColor, pulseColor } from './palette.ts';
import type { FloorBox, Pick, SiteModel, TwinStats, TwinView } from './types.ts';
import { ZoneLayer, wallHeight } from './zones.ts';

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
const FOV = 18;
/** The 3D view's turn off the front, degrees: enough to see the floors as volumes. */
const YAW = 12;
/** Tilt of the 3D view of one floor, degrees above the horizon. */
const FLOOR_TILT = 60;
/** Margins kept free around a fitted view, CSS px, besides what overlays cover (setInsets). */
const MARGIN = 14;

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
  private readonly built: FloorFootprint[];
  /** The arrangement the layers were built for ('3d:<tilt>' or '2d:<columns>'). */
  private arrangement = '';
  private tilt = 40;
  private layout!: SiteLayout;
  private zones!: ZoneLayer;
  private doors!: DoorLayer;
  private devices!: DeviceLayer;
  private labels!: LabelLayer;
  private zoneColor!: Int32Array;
  private deviceColor!: Int32Array;
  private doorHasSensor!: Uint8Array;
  private rebuilt = false;
  private coverage = false;
  private selection: Pick | null = null;
  /** The user moved the camera since the last fit: a resize no longer refits. */
  private userMoved = false;
  /** What the page's overlays cover on each side of the canvas, CSS px. */
  private insets = { top: 48, right: 0, bottom: 0, left: 0 };
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
    private readonly site: SiteModel,
    private readonly deviceTypes: DeviceCatalogue,
    private readonly language: Lang,
    antialias: boolean,
  ) {
    this.renderer = new WebGLRenderer({ canvas, antialias, powerPreference: 'high-performance' });
    this.renderer.setPixelRatio(Math.min(2, window.devicePixelRatio || 1));
    this.renderer.setClearColor(0xf1f5f9, 1);
    this.renderer.info.autoReset = true;

    this.built = footprints(site);
    this.root.rotation.x = -Math.PI / 2;
    this.scene.add(this.root);
    this.scene.add(new HemisphereLight(0xffffff, 0x94a3b8, 1.6));
    this.scene.add(new AmbientLight(0xffffff, 0.4));
    const sun = new DirectionalLight(0xffffff, 1.4);
    sun.position.set(0.4, 1, 0.3);
    this.scene.add(sun);

    const w = Math.max(1, canvas.clientWidth);
    const h = Math.max(1, canvas.clientHeight);
    this.persp = new PerspectiveCamera(FOV, w / h, 0.1, 20000);
    this.ortho = new OrthographicCamera(-ORTHO_HALF, ORTHO_HALF, ORTHO_HALF, -ORTHO_HALF, 0.1, 20000);
    this.camera = this.persp;
    this.controls = new OrbitControls(this.persp, canvas);
    this.controls.enableDamping = true;
    this.controls.dampingFactor = 0.12;
    this.controls.maxPolarAngle = Math.PI * 0.495;
    this.controls.addEventListener('change', this.invalidate);
    this.controls.addEventListener('start', this.onUserMove);
    this.configureControls();

    this.resize();
    this.arrange();
    this.resizeObserver = new ResizeObserver(() => this.resize());
    this.resizeObserver.observe(canvas);
    canvas.addEventListener('pointerdown', this.onPointerDown);
    canvas.addEventListener('pointerup', this.onPointerUp);
    canvas.addEventListener('wheel', this.onUserMove, { passive: true });
    this.fit(false);
    this.invalidate();
  }

  private readonly onUserMove = (): void => {
    this.userMoved = true;
  };

  /**
   * (Re)builds the layout and the layers for the mode and the canvas' shape, if they call for
   * another arrangement than the one built. State, alarms and arming are kept and re-applied.
   */
  private arrange(): void {
    // The shape of what the twin has to itself: the canvas less its overlays and margins.
    const b = this.ndcBounds();
    const aspect = (this.persp.aspect * (b.x1 - b.x0)) / Math.max(0.1, b.y1 - b.y0);
    let key: string;
    let layout: () => SiteLayout;
    // Floor names stand left of the floors in 3D, unless the canvas is narrow (a phone held
    // upright): then above them, where it has room to spare.
    const side: NameSide = this.mode === '3d' && this.persp.aspect >= 1 ? 'left' : 'top';
    if (this.mode === '3d') {
      const tilt = stackTilt(this.built, aspect, YAW, side, this.nameWidth());
      key = `3d:${tilt}:${side}`;
      layout = () => {
        this.tilt = tilt;
        return new SiteLayout(this.site, this.language, this.deviceTypes, explodedStack(tilt, YAW, side));
      };
    } else {
      const columns = gridColumns(this.built, aspect);
      key = `2d:${columns}`;
      layout = () => new SiteLayout(this.site, this.language, this.deviceTypes, sideBySide(columns));
    }
    if (key === this.arrangement) return;
    this.arrangement = key;
    if (this.zones) {
      for (const layer of [this.zones, this.doors, this.devices, this.labels]) layer.dispose();
      this.root.remove(this.zones.mesh, this.zones.walls, this.doors.mesh, this.devices.sensors, this.devices.cameras, this.devices.counters, this.devices.markers, this.devices.cones);
    }
    this.layout = layout();
    this.zones = new ZoneLayer(this.layout);
    this.doors = new DoorLayer(this.layout);
    this.devices = new DeviceLayer(this.layout);
    this.labels = new LabelLayer(this.layout, (m) => this.root.add(m), this.renderer.capabilities.getMaxAnisotropy(), side);
    this.root.add(this.zones.mesh, this.zones.walls, this.doors.mesh, this.devices.sensors, this.devices.cameras);
    this.root.add(this.devices.counters, this.devices.markers, this.devices.cones);
    this.zoneColor = new Int32Array(this.layout.zones.length).fill(-1);
    this.deviceColor = new Int32Array(this.layout.devices.length).fill(-1);
    this.doorHasSensor = new Uint8Array(this.layout.doors.length);
    for (const d of this.layout.devices) if (d.door !== null) this.doorHasSensor[d.door] = 1;
    for (let i = 0; i < this.layout.zones.length; i++) this.dirtyZones.add(i);
    for (let i = 0; i < this.layout.devices.length; i++) this.dirtyDevices.add(i);
    this.zones.setVisibleFloor(this.floor);
    this.doors.setVisibleFloor(this.floor);
    this.devices.setVisibleFloor(this.floor);
    this.applyCoverage();
    this.rebuilt = true;
    this.labelKey = '';
    this.updateLabels();
    this.invalidate();
  }

  /** Roughly how wide the floor names are, metres (they stand left of the floors in 3D). */
  private nameWidth(): number {
    const size = floorNameSize(this.built);
    let widest = 0;
    for (const f of this.site.floors) {
      const name = f.name[this.language] ?? f.name.en;
      let w = 0;
      for (const ch of name) w += ch.charCodeAt(0) > 0x2e80 ? 1 : 0.62;
      widest = Math.max(widest, w);
    }
    return (widest + 1) * size + 2;
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
      // Far enough that the zone and about a room's width around it fill the narrower side.
      const tan = Math.tan(((this.persp.fov * Math.PI) / 180) / 2) * Math.min(1, this.persp.aspect);
      this.startTween(target.clone().addScaledVector(dir, (size * 1.5) / tan), target, 1);
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
    this.arrange();
    this.fit(false);
    this.invalidate();
  }

  fitToFloor(): void {
    this.fit(true);
  }

  setInsets(insets: Partial<Record<'top' | 'right' | 'bottom' | 'left', number>>): void {
    const next = { ...this.insets, ...insets };
    if (Object.keys(next).every((k) => next[k as keyof typeof next] === this.insets[k as keyof typeof next])) return;
    this.insets = next;
    if (this.userMoved) return;
    // Before the first frame there is nothing to glide from.
    const key = this.arrangement;
    this.arrange();
    this.fit(this.frameLog.length > 0 && key === this.arrangement);
  }

  setCoverage(on: boolean): void {
    this.coverage = on;
    this.applyCoverage();
    this.invalidate();
  }

  floorBoxes(): { width: number; height: number; floors: FloorBox[] } {
    this.camera.updateMatrixWorld();
    const width = this.canvas.clientWidth;
    const height = this.canvas.clientHeight;
    const floors: FloorBox[] = [];
    const onCanvas = (p: Vector3): [number, number] => {
      p.project(this.camera);
      return [((p.x + 1) / 2) * width, ((1 - p.y) / 2) * height];
    };
    for (const f of this.shownFloors()) {
      // floorCorners: x outer, then y, then z (slab, wall top).
      const c = this.floorCorners(f, false).map(onCanvas);
      const xs = c.map((p) => p[0]);
      const ys = c.map((p) => p[1]);
      floors.push({
        floor: this.layout.floors[f]!.id,
        left: Math.min(...xs),
        right: Math.max(...xs),
        top: Math.min(...ys),
        bottom: Math.max(...ys),
        front: [c[0]!, c[4]!],
        back: [c[3]!, c[7]!],
      });
    }
    return { width, height, floors };
  }

  zoneProbe(zone: string): { x: number; y: number; color: number } | null {
    const zi = this.layout.zoneById.get(zone);
    if (zi === undefined) return null;
    const z = this.layout.zones[zi]!;
    const p = toWorld(z.centroid[0], z.centroid[1], this.layout.floors[z.floor]!.elevation + slabThickness(z.kind));
    this.camera.updateMatrixWorld();
    p.project(this.camera);
    return { x: ((p.x + 1) / 2) * this.canvas.clientWidth, y: ((1 - p.y) / 2) * this.canvas.clientHeight, color: this.zoneColor[zi]! };
  }

  /** Coverage fans: all (faint) if asked, plus the selected camera's, or those of the selected zone. */
  private applyCoverage(): void {
    const selected = new Set<number>();
    const sel = this.selection;
    if (sel?.kind === 'device') {
      const di = this.layout.deviceById.get(sel.id);
      if (di !== undefined) selected.add(di);
    } else if (sel?.kind === 'zone') {
      const zi = this.layout.zoneById.get(sel.id);
      if (zi !== undefined) for (const di of this.layout.zoneDevices[zi]!) selected.add(di);
    }
    this.devices.setCoverage(this.coverage, selected);
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
    this.controls.removeEventListener('start', this.onUserMove);
    this.canvas.removeEventListener('wheel', this.onUserMove);
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
    if (this.pulsing()) {
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
    let immediate = this.rebuilt;
    this.rebuilt = false;
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

  /** The zone's colour by the palette's order: alarm > offline > armed+open > open > armed > occupancy > kind. */
  private zoneColorOf(zi: number): number {
    const z = this.layout.zones[zi]!;
    const sev = this.alarms.get(zi);
    if (sev) return SEVERITY_COLORS[sev];
    const devs = this.layout.zoneDevices[zi]!;
    if (devs.length > 0 && devs.every((di) => this.deviceStates.get(this.layout.devices[di]!.id)?.online === false)) {
      return STATE_COLORS.offline;
    }
    const st = this.zoneStates.get(z.id);
    const open = st?.door === 'open';
    if (this.armed.has(zi)) return open ? STATE_COLORS.armedOpen : STATE_COLORS.armed;
    if (open) return STATE_COLORS.doorOpen;
    const cap = st?.capacity ?? z.capacity;
    if (cap && st?.occupancy != null) return occupancyColor(st.occupancy / cap);
    return KIND_COLORS[z.kind];
  }

  private pulsing(): boolean {
    for (const sev of this.alarms.values()) if (PULSE_COLORS[sev]) return true;
    return false;
  }

  private pulse(now: number): void {
    const k = 0.5 - 0.5 * Math.cos((now / PULSE_MS) * 2 * Math.PI);
    for (const [zi, sev] of this.alarms) {
      if (!PULSE_COLORS[sev]) continue;
      const c = pulseColor(sev, k);
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
    if (this.zones && !this.userMoved) {
      this.arrange();
      this.fit(false);
    }
    this.invalidate();
  }

  private orthoZoomFor(width: number, depth: number): number {
    const a = this.persp.aspect;
    return 0.9 * Math.min((2 * ORTHO_HALF * a) / Math.max(1, width), (2 * ORTHO_HALF) / Math.max(1, depth));
  }

  private shownFloors(): number[] {
    return this.floor === null ? this.layout.floors.map((f) => f.index).filter((f) => Number.isFinite(this.layout.floors[f]!.min[0])) : [this.floor];
  }

  /** A floor's box in world coordinates: slab to wall tops, with its labels (and its name) if asked. */
  private floorCorners(f: number, withLabels: boolean): Vector3[] {
    const fl = this.layout.floors[f]!;
    let [x0, y0] = fl.min;
    let [x1, y1] = fl.max;
    const ext = withLabels ? this.labels.extent(f) : null;
    if (ext) {
      x0 = Math.min(x0, ext.min[0]);
      y0 = Math.min(y0, ext.min[1]);
      x1 = Math.max(x1, ext.max[0]);
      y1 = Math.max(y1, ext.max[1]);
    }
    const z0 = fl.elevation;
    const z1 = fl.elevation + slabThickness('room') + wallHeight(fl.height);
    const out: Vector3[] = [];
    for (const x of [x0, x1]) for (const y of [y0, y1]) for (const z of [z0, z1]) out.push(toWorld(x, y, z));
    return out;
  }

  /** The margins as bounds in normalised device coordinates (−1…1, y up). */
  private ndcBounds(): { x0: number; x1: number; y0: number; y1: number } {
    const w = Math.max(1, this.canvas.clientWidth);
    const h = Math.max(1, this.canvas.clientHeight);
    // Overlays may cover at most half the canvas: the twin keeps the rest.
    const side = (inset: number, size: number) => Math.min(size / 4, inset) + MARGIN;
    return {
      x0: -1 + (2 * side(this.insets.left, w)) / w,
      x1: 1 - (2 * side(this.insets.right, w)) / w,
      y0: -1 + (2 * side(this.insets.bottom, h)) / h,
      y1: 1 - (2 * side(this.insets.top, h)) / h,
    };
  }

  /** Frames the shown floors with margins: every corner of every floor projected inside them. */
  private fit(animate: boolean): void {
    const points = this.shownFloors().flatMap((f) => this.floorCorners(f, true));
    if (points.length === 0) return;
    this.userMoved = false;
    const b = this.ndcBounds();
    if (this.mode === '2d') {
      let minX = Infinity;
      let maxX = -Infinity;
      let minZ = Infinity;
      let maxZ = -Infinity;
      for (const p of points) {
        minX = Math.min(minX, p.x);
        maxX = Math.max(maxX, p.x);
        minZ = Math.min(minZ, p.z);
        maxZ = Math.max(maxZ, p.z);
      }
      const halfW = ORTHO_HALF * this.persp.aspect;
      // World width shown at zoom 1 is 2·halfW across NDC 2; the allowed box spans (x1 − x0).
      const zoom = Math.min(((b.x1 - b.x0) * halfW) / Math.max(1, maxX - minX), ((b.y1 - b.y0) * ORTHO_HALF) / Math.max(1, maxZ - minZ));
      // Put the box's centre at the allowed box's centre: screen right is +x, screen up is −z.
      const cx = (minX + maxX) / 2 - (((b.x0 + b.x1) / 2) * halfW) / zoom;
      const cz = (minZ + maxZ) / 2 + (((b.y0 + b.y1) / 2) * ORTHO_HALF) / zoom;
      const center = new Vector3(cx, (points[0]!.y + points[points.length - 1]!.y) / 2, cz);
      const pos = center.clone().add(new Vector3(0, 1000, 0.001));
      if (animate) this.startTween(pos, center, zoom);
      else this.jump(pos, center, zoom);
      return;
    }
    // One floor (picked, or the site's only one) is seen steeper: nothing stacks behind it.
    const single = this.floor !== null || this.shownFloors().length === 1;
    const tilt = ((single ? FLOOR_TILT : this.tilt) * Math.PI) / 180;
    const yaw = (YAW * Math.PI) / 180;
    const dir = new Vector3(Math.sin(yaw) * Math.cos(tilt), Math.sin(tilt), Math.cos(yaw) * Math.cos(tilt));
    const { target, distance } = this.framing(points, dir, b);
    const pos = target.clone().addScaledVector(dir, distance);
    if (animate) this.startTween(pos, target, 1);
    else this.jump(pos, target, 1);
  }

  /**
   * The perspective camera's target and distance along `dir` (unit, towards the camera) that
   * fit every point inside the NDC bounds: a bisection on the distance, then the target moved
   * so the points' projected box is centred in the bounds, a few times over.
   */
  private framing(points: Vector3[], dir: Vector3, b: { x0: number; x1: number; y0: number; y1: number }): { target: Vector3; distance: number } {
    const fwd = dir.clone().negate();
    const right = fwd.clone().cross(new Vector3(0, 1, 0)).normalize();
    const up = right.clone().cross(fwd).normalize();
    const tanV = Math.tan(((this.persp.fov * Math.PI) / 180) / 2);
    const tanH = tanV * this.persp.aspect;
    const target = new Vector3();
    for (const p of points) target.add(p);
    target.divideScalar(points.length);
    let radius = 1;
    for (const p of points) radius = Math.max(radius, p.distanceTo(target));
    const rel = new Vector3();
    const box = (d: number) => {
      const r = { x0: Infinity, x1: -Infinity, y0: Infinity, y1: -Infinity, ok: true };
      for (const p of points) {
        rel.copy(p).sub(target);
        const depth = rel.dot(fwd) + d;
        if (depth < 0.5) {
          r.ok = false;
          return r;
        }
        const x = rel.dot(right) / (depth * tanH);
        const y = rel.dot(up) / (depth * tanV);
        r.x0 = Math.min(r.x0, x);
        r.x1 = Math.max(r.x1, x);
        r.y0 = Math.min(r.y0, y);
        r.y1 = Math.max(r.y1, y);
      }
      return r;
    };
    const fits = (d: number) => {
      const r = box(d);
      return r.ok && r.x0 >= b.x0 && r.x1 <= b.x1 && r.y0 >= b.y0 && r.y1 <= b.y1;
    };
    let distance = radius * 3;
    for (let round = 0; round < 5; round++) {
      let lo = 0.5;
      let hi = radius * 4;
      while (!fits(hi) && hi < radius * 1e4) hi *= 2;
      for (let i = 0; i < 40; i++) {
        const mid = (lo + hi) / 2;
        if (fits(mid)) hi = mid;
        else lo = mid;
      }
      distance = hi;
      const r = box(distance);
      const dx = (r.x0 + r.x1) / 2 - (b.x0 + b.x1) / 2;
      const dy = (r.y0 + r.y1) / 2 - (b.y0 + b.y1) / 2;
      if (Math.abs(dx) < 1e-3 && Math.abs(dy) < 1e-3) break;
      target.addScaledVector(right, dx * distance * tanH).addScaledVector(up, dy * distance * tanV);
    }
    // The last move may have pushed a side out by a hair: one more bisection settles it.
    let lo = 0.5;
    let hi = distance * 1.2;
    while (!fits(hi) && hi < radius * 1e4) hi *= 2;
    for (let i = 0; i < 40; i++) {
      const mid = (lo + hi) / 2;
      if (fits(mid)) hi = mid;
      else lo = mid;
    }
    return { target, distance: hi };
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
    // A picked camera (or zone) shows its coverage; a click on nothing clears it.
    this.selection = pick;
    this.applyCoverage();
    this.invalidate();
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

