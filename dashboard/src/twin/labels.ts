/**
 * Zone names and the floor's own name, drawn as TEXT with canvas fillText into one texture per
 * floor (never HTML: names are user input, `<img src=x onerror=…>` is drawn as those
 * characters). The floor's name stands left of the floor (3D stack) or above it (2D grid), so
 * pulled-apart floors say which is which. A floor's texture is painted lazily the first time it
 * is shown, and its size is capped, so a 1,000-room site costs at most one bounded texture per
 * visible floor.
 */
import { CanvasTexture, Mesh, MeshBasicMaterial, PlaneGeometry, SRGBColorSpace } from 'three';
import { floorNameSize, type NameSide } from './arrange.ts';
import { slabThickness, type SiteLayout, type Vec2 } from './layout.ts';

const MAX_TEXTURE = 4096;
const PX_PER_M = 40;
const font = (px: number, weight = 600) => `${weight} ${px.toFixed(1)}px system-ui, "Noto Sans CJK SC", "PingFang SC", sans-serif`;

export class LabelLayer {
  private readonly planes = new Map<number, Mesh<PlaneGeometry, MeshBasicMaterial>>();
  private readonly extents = new Map<number, { min: Vec2; max: Vec2 }>();
  private readonly nameSize: number;

  constructor(
    private readonly layout: SiteLayout,
    private readonly add: (mesh: Mesh) => void,
    private readonly maxAnisotropy: number,
    private readonly nameSide: NameSide = 'left',
  ) {
    this.nameSize = floorNameSize(layout.floors.filter((f) => Number.isFinite(f.min[0])), nameSide);
  }

  /** What a floor's labels cover (model metres, drawn), once painted: the view frames it too. */
  extent(f: number): { min: Vec2; max: Vec2 } | null {
    return this.extents.get(f) ?? null;
  }

  /** Shows the labels of these floors, painting any not yet painted; hides the rest. */
  show(floors: ReadonlySet<number>): void {
    for (const [f, plane] of this.planes) plane.visible = floors.has(f);
    for (const f of floors) if (!this.planes.has(f)) this.paint(f);
  }

  private paint(f: number): void {
    const floor = this.layout.floors[f]!;
    if (!Number.isFinite(floor.min[0])) return;
    const pad = 1;
    // The floor's name: its width measured at 1 px per metre of letter height.
    const measure = document.createElement('canvas').getContext('2d');
    if (!measure) return;
    const T = this.nameSize;
    measure.font = font(100, 700);
    const nameW = (measure.measureText(floor.name).width / 100) * T;
    const left = this.nameSide === 'left' ? nameW + T * 0.6 : 0;
    const top = this.nameSide === 'top' ? T * 1.8 : 0;
    const minX = floor.min[0] - pad - left;
    const minY = floor.min[1] - pad;
    const w = floor.max[0] - floor.min[0] + 2 * pad + left;
    const h = floor.max[1] - floor.min[1] + 2 * pad + top;
    if (!(w > 0 && h > 0)) return;
    const s = Math.min(PX_PER_M, MAX_TEXTURE / Math.max(w, h));
    const canvas = document.createElement('canvas');
    canvas.width = Math.max(1, Math.ceil(w * s));
    canvas.height = Math.max(1, Math.ceil(h * s));
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    ctx.lineJoin = 'round';
    // Canvas y runs down, model y up: a point (x, y) is at ((x − minX)·s, (minY + h − y)·s).
    ctx.font = font(T * s, 700);
    ctx.fillStyle = '#0f172a';
    ctx.strokeStyle = 'rgba(255,255,255,0.9)';
    ctx.lineWidth = Math.max(2, (T * s) / 6);
    ctx.textBaseline = 'middle';
    if (this.nameSide === 'left') {
      ctx.textAlign = 'left';
      const y = (minY + h - (floor.min[1] + floor.max[1]) / 2) * s;
      ctx.strokeText(floor.name, 0, y);
      ctx.fillText(floor.name, 0, y);
    } else {
      ctx.textAlign = 'left';
      const y = (minY + h - (floor.max[1] + pad + T * 0.8)) * s;
      const x = (floor.min[0] - minX) * s;
      ctx.strokeText(floor.name, x, y);
      ctx.fillText(floor.name, x, y);
    }
    ctx.textAlign = 'center';
    for (const z of this.layout.zones) {
      if (z.floor !== f) continue;
      const zw = (z.max[0] - z.min[0]) * s;
      const zh = (z.max[1] - z.min[1]) * s;
      let size = Math.min(zh * 0.3, 56);
      if (size < 7) continue;
      ctx.font = font(size);
      const tw = ctx.measureText(z.name).width;
      if (tw > zw * 0.9) size = (size * zw * 0.9) / tw;
      if (size < 7) continue;
      ctx.font = font(size);
      const x = (z.centroid[0] - minX) * s;
      const y = (minY + h - z.centroid[1]) * s;
      ctx.lineWidth = Math.max(2, size / 5);
      ctx.strokeStyle = 'rgba(255,255,255,0.85)';
      ctx.strokeText(z.name, x, y);
      ctx.fillStyle = '#0f172a';
      ctx.fillText(z.name, x, y);
    }
    const tex = new CanvasTexture(canvas);
    tex.colorSpace = SRGBColorSpace;
    tex.anisotropy = Math.min(8, this.maxAnisotropy);
    const plane = new Mesh(
      new PlaneGeometry(w, h),
      new MeshBasicMaterial({ map: tex, transparent: true, depthWrite: false, polygonOffset: true, polygonOffsetFactor: -2 }),
    );
    plane.position.set(minX + w / 2, minY + h / 2, floor.elevation + slabThickness('room') + 0.03);
    plane.renderOrder = 1;
    plane.name = `labels-${floor.id}`;
    this.planes.set(f, plane);
    this.extents.set(f, { min: [minX, minY], max: [minX + w, minY + h] });
    this.add(plane);
  }

  dispose(): void {
    for (const plane of this.planes.values()) {
      plane.removeFromParent();
      plane.material.map?.dispose();
      plane.material.dispose();
      plane.geometry.dispose();
    }
    this.planes.clear();
    this.extents.clear();
  }
}
