/**
 * Zone names, drawn as TEXT with canvas fillText into one texture per floor (never HTML:
 * names are user input, `<img src=x onerror=…>` is drawn as those characters). A floor's
 * texture is painted lazily the first time it is shown, and its size is capped, so a
 * 1,000-room site costs at most one bounded texture per visible floor.
 */
import { CanvasTexture, Mesh, MeshBasicMaterial, PlaneGeometry, SRGBColorSpace } from 'three';
import { slabThickness, type SiteLayout } from './layout.ts';

const MAX_TEXTURE = 4096;
const PX_PER_M = 40;

export class LabelLayer {
  private readonly planes = new Map<number, Mesh<PlaneGeometry, MeshBasicMaterial>>();

  constructor(
    private readonly layout: SiteLayout,
    private readonly add: (mesh: Mesh) => void,
    private readonly maxAnisotropy: number,
  ) {}

  /** Shows the labels of these floors, painting any not yet painted; hides the rest. */
  show(floors: ReadonlySet<number>): void {
    for (const [f, plane] of this.planes) plane.visible = floors.has(f);
    for (const f of floors) if (!this.planes.has(f)) this.paint(f);
  }

  private paint(f: number): void {
    const floor = this.layout.floors[f]!;
    const pad = 1;
    const minX = floor.min[0] - pad;
    const minY = floor.min[1] - pad;
    const w = floor.max[0] - floor.min[0] + 2 * pad;
    const h = floor.max[1] - floor.min[1] + 2 * pad;
    if (!(w > 0 && h > 0)) return;
    const s = Math.min(PX_PER_M, MAX_TEXTURE / Math.max(w, h));
    const canvas = document.createElement('canvas');
    canvas.width = Math.max(1, Math.ceil(w * s));
    canvas.height = Math.max(1, Math.ceil(h * s));
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.lineJoin = 'round';
    for (const z of this.layout.zones) {
      if (z.floor !== f) continue;
      const zw = (z.max[0] - z.min[0]) * s;
      const zh = (z.max[1] - z.min[1]) * s;
      let size = Math.min(zh * 0.3, 42);
      if (size < 7) continue;
      const font = (px: number) => `600 ${px.toFixed(1)}px system-ui, "Noto Sans CJK SC", "PingFang SC", sans-serif`;
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
  }
}
