/**
 * A top-down 2D stand-in for the 3D twin (same TwinView contract), used when the three.js
 * view is not part of the build. Zones are drawn from their polygons and coloured by state.
 */
import type { Severity } from '../../server/alarms/types.ts';
import type { TwinBatch } from '../../server/live/protocol.ts';
import type { SiteState } from '../../server/twin/types.ts';
import type { Language } from './i18n.ts';
import type { Pick, SiteModel, TwinStats, TwinView } from './twin/types.ts';

const COLOURS = { normal: '#3b4a5e', open: '#e0a030', alarm: '#e53935', offline: '#777777', background: '#10151c', label: '#dde3ea' };

export class FlatTwinView implements TwinView {
  private state: SiteState | null = null;
  private alarms = new Map<string, Severity>();
  private floor: string;
  private listeners = new Set<(p: Pick) => void>();
  private frame = 0;
  private frameTimes: number[] = [];
  private updates: number[] = [];
  private disposed = false;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly site: SiteModel,
    private readonly language: Language,
  ) {
    this.floor = site.floors[0]?.id ?? 'all';
    canvas.addEventListener('click', this.onClick);
    this.frame = requestAnimationFrame(this.draw);
  }

  setState(state: SiteState): void {
    this.state = structuredClone(state);
    this.updates.push(performance.now());
  }
  applyChanges(batch: TwinBatch): void {
    if (!this.state) return;
    Object.assign(this.state.devices, batch.devices);
    Object.assign(this.state.zones, batch.zones);
    this.updates.push(performance.now());
  }
  setAlarms(zones: ReadonlyArray<{ zone: string; severity: Severity }>): void {
    this.alarms = new Map(zones.map((z) => [z.zone, z.severity]));
  }
  flyTo(zone: string): void {
    const floor = this.site.floors.find((f) => f.zones.some((z) => z.id === zone));
    if (floor) this.floor = floor.id;
  }
  showFloor(floor: string): void {
    this.floor = floor === 'all' ? (this.site.floors[0]?.id ?? 'all') : floor;
  }
  setMode(): void {}
  fitToFloor(): void {}
  onPick(listener: (pick: Pick) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  stats(): TwinStats {
    const now = performance.now();
    const recent = this.frameTimes.filter((t) => now - t < 1000);
    return { drawCalls: 0, triangles: 0, frameMs: recent.length ? 1000 / recent.length : 0, updatesPerSecond: this.updates.filter((t) => now - t < 1000).length };
  }
  dispose(): void {
    this.disposed = true;
    cancelAnimationFrame(this.frame);
    this.canvas.removeEventListener('click', this.onClick);
  }

  private currentFloor(): SiteModel['floors'][number] {
    return this.site.floors.find((f) => f.id === this.floor) ?? (this.site.floors[0] as SiteModel['floors'][number]);
  }

  private transform(): { scale: number; ox: number; oy: number } {
    const floor = this.currentFloor();
    const xs = floor.zones.flatMap((z) => z.polygon.map((p) => p[0]));
    const ys = floor.zones.flatMap((z) => z.polygon.map((p) => p[1]));
    const [minX, maxX, minY, maxY] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    const w = this.canvas.width;
    const hgt = this.canvas.height;
    const scale = Math.min((w - 40) / Math.max(1, maxX - minX), (hgt - 40) / Math.max(1, maxY - minY));
    return { scale, ox: 20 - minX * scale, oy: hgt - 20 + minY * scale };
  }

  private zoneColour(zone: string, t: number): string {
    const severity = this.alarms.get(zone);
    if (severity) return Math.sin(t / 150) > -0.3 ? COLOURS.alarm : '#8e2422';
    const z = this.state?.zones[zone];
    if (z?.door === 'open') return COLOURS.open;
    return COLOURS.normal;
  }

  private draw = (t: number): void => {
    if (this.disposed) return;
    this.frameTimes.push(performance.now());
    if (this.frameTimes.length > 120) this.frameTimes.shift();
    const { canvas } = this;
    const rect = canvas.getBoundingClientRect();
    if (rect.width && (canvas.width !== Math.round(rect.width) || canvas.height !== Math.round(rect.height))) {
      canvas.width = Math.round(rect.width);
      canvas.height = Math.round(rect.height);
    }
    const ctx = canvas.getContext('2d');
    if (ctx) {
      ctx.fillStyle = COLOURS.background;
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      const floor = this.currentFloor();
      const { scale, ox, oy } = this.transform();
      ctx.font = '11px sans-serif';
      for (const zone of floor.zones) {
        ctx.beginPath();
        zone.polygon.forEach(([x, y], i) => (i ? ctx.lineTo(ox + x * scale, oy - y * scale) : ctx.moveTo(ox + x * scale, oy - y * scale)));
        ctx.closePath();
        ctx.fillStyle = this.zoneColour(zone.id, t);
        ctx.fill();
        ctx.strokeStyle = '#9aa7b5';
        ctx.stroke();
        const cx = zone.polygon.reduce((s, p) => s + p[0], 0) / zone.polygon.length;
        const cy = zone.polygon.reduce((s, p) => s + p[1], 0) / zone.polygon.length;
        ctx.fillStyle = COLOURS.label;
        // fillText draws text as pixels: a name is never parsed as markup.
        ctx.fillText(zone.name[this.language] ?? zone.id, ox + cx * scale - 20, oy - cy * scale);
      }
    }
    this.frame = requestAnimationFrame(this.draw);
  };

  private onClick = (ev: MouseEvent): void => {
    const floor = this.currentFloor();
    const { scale, ox, oy } = this.transform();
    const rect = this.canvas.getBoundingClientRect();
    const x = (ev.clientX - rect.left - ox) / scale;
    const y = (oy - (ev.clientY - rect.top)) / scale;
    const zone = floor.zones.find((z) => inside([x, y], z.polygon));
    if (zone) for (const l of this.listeners) l({ kind: 'zone', id: zone.id });
  };
}

function inside([x, y]: [number, number], poly: Array<[number, number]>): boolean {
  let hit = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i] as [number, number];
    const [xj, yj] = poly[j] as [number, number];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) hit = !hit;
  }
  return hit;
}
