/**
 * A simulated camera picture: a room in perspective with a door and the people present, the
 * camera's label and local time burnt in like a CCTV overlay, encoded as a baseline JPEG.
 * Real enough for the alarm view and the dashboard to show something meaningful.
 */
import { drawText, GLYPH_HEIGHT, textWidth } from './font.ts';
import { mulberry32, normal, uniform, type Random } from './random.ts';
import { Raster, type Rgb } from './raster.ts';

export const SNAPSHOT_WIDTH = 320;
export const SNAPSHOT_HEIGHT = 240;

export interface SnapshotScene {
  /** Burnt into the bottom band. */
  label: string;
  /** Local `YYYY-MM-DD HH:MM:SS`, burnt into the top band. */
  time: string;
  /**
   * When the picture was taken, ISO 8601: written into a JPEG comment (COM segment) as
   * `taken <iso>`, the way cameras record the capture time in the file, so it can be read back
   * without reading the overlay.
   */
  takenAt?: string;
  /** Local hour: cameras switch to infrared (grey, darker) at night. */
  hour: number;
  zoneKind: string;
  /** People in view. */
  people: number;
  random: Random;
}

/** A picture to take, as plain data (a seed instead of a random source): it can cross to a worker thread. */
export type SnapshotPlan = Omit<SnapshotScene, 'random'> & { seed: number };

/** Renders what `plan` describes; the same plan gives the same JPEG. */
export function renderSnapshotPlan(plan: SnapshotPlan): Buffer {
  const { seed, ...scene } = plan;
  return renderSnapshot({ ...scene, random: mulberry32(seed) });
}

const WALLS: Record<string, Rgb> = {
  room: [196, 178, 150],
  office: [190, 196, 204],
  'cash-room': [170, 176, 168],
  corridor: [206, 196, 176],
  lobby: [214, 200, 170],
  hall: [220, 222, 226],
  entrance: [200, 206, 214],
};
const FLOOR: Rgb = [120, 104, 88];
const DOOR: Rgb = [110, 72, 44];
const WHITE: Rgb = [255, 255, 255];
const HORIZON = 100;
const SCALE = 2;

function mix(a: Rgb, b: Rgb, f: number): Rgb {
  return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
}

function drawRoom(r: Raster, wall: Rgb): void {
  for (let y = 0; y < HORIZON; y++) r.fillRect(0, y, r.width, 1, mix(wall, [255, 255, 255], 0.25 * (1 - y / HORIZON)));
  for (let y = HORIZON; y < r.height; y++) r.fillRect(0, y, r.width, 1, mix(FLOOR, [60, 52, 44], (y - HORIZON) / (r.height - HORIZON)));
  // Floor tile seams converging on a vanishing point give the picture depth.
  const vx = r.width / 2;
  for (let k = -8; k <= 8; k++) {
    const xEnd = vx + k * 60;
    for (let y = HORIZON; y < r.height; y++) {
      const f = (y - HORIZON) / (r.height - HORIZON);
      r.setPixel(Math.round(vx + (xEnd - vx) * f), y, [70, 60, 50]);
    }
  }
  r.fillRect(0, HORIZON, r.width, 2, [90, 80, 70]);
  r.fillRect(210, 34, 46, 68, DOOR);
  r.fillRect(248, 66, 4, 4, [220, 200, 120]);
}

function drawPerson(r: Raster, x: number, feetY: number, shirt: Rgb): void {
  // Farther people (feet nearer the horizon) are drawn smaller.
  const s = 0.45 + (feetY - HORIZON) / (r.height - HORIZON);
  const h = 110 * s;
  const w = 26 * s;
  r.fillRect(x - w / 2, feetY - h * 0.45, w * 0.4, h * 0.45, [40, 40, 60]);
  r.fillRect(x + w * 0.1, feetY - h * 0.45, w * 0.4, h * 0.45, [40, 40, 60]);
  r.fillRect(x - w / 2, feetY - h * 0.85, w, h * 0.42, shirt);
  const head = w * 0.7;
  for (let dy = 0; dy < head; dy++) {
    for (let dx = 0; dx < head; dx++) {
      const cx = dx - head / 2;
      const cy = dy - head / 2;
      if (cx * cx + cy * cy <= (head / 2) ** 2) r.setPixel(Math.round(x + cx), Math.round(feetY - h * 0.85 - head + dy), [224, 186, 150]);
    }
  }
}

/**
 * A private generator for per-pixel noise, seeded with one draw of the device's: 150 000 draws
 * per picture from the device's own stream would be slow and would shift every later event.
 */
function noiseSource(seed: number): Random {
  let s = seed >>> 0 || 1;
  return () => {
    // xorshift32
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

/** Night: the camera's infrared mode, grey and darker, with sensor noise everywhere. */
function finish(r: Raster, night: boolean, random: Random): void {
  const d = r.data;
  for (let i = 0; i < d.length; i += 4) {
    let red = d[i] ?? 0;
    let green = d[i + 1] ?? 0;
    let blue = d[i + 2] ?? 0;
    if (night) {
      const grey = 0.55 * (0.3 * red + 0.59 * green + 0.11 * blue);
      red = green = blue = grey;
    }
    const noise = (night ? 9 : 4) * normal(random);
    d[i] = Math.max(0, Math.min(255, Math.round(red + noise)));
    d[i + 1] = Math.max(0, Math.min(255, Math.round(green + noise)));
    d[i + 2] = Math.max(0, Math.min(255, Math.round(blue + noise)));
  }
}

function fit(text: string, maxWidth: number): string {
  let t = text;
  while (t.length > 0 && textWidth(t, SCALE) > maxWidth) t = t.slice(0, -1);
  return t;
}

export function renderSnapshot(scene: SnapshotScene): Buffer {
  const r = new Raster(SNAPSHOT_WIDTH, SNAPSHOT_HEIGHT);
  const night = scene.hour < 6.5 || scene.hour >= 20;
  drawRoom(r, WALLS[scene.zoneKind] ?? [200, 200, 200]);
  const people = Array.from({ length: Math.max(0, Math.min(6, scene.people)) }, () => ({
    x: uniform(scene.random, 30, SNAPSHOT_WIDTH - 30),
    feetY: uniform(scene.random, HORIZON + 30, SNAPSHOT_HEIGHT - 24),
    shirt: [uniform(scene.random, 40, 220), uniform(scene.random, 40, 220), uniform(scene.random, 40, 220)] as Rgb,
  }));
  // Far people first so near ones overlap them.
  for (const p of people.sort((a, b) => a.feetY - b.feetY)) drawPerson(r, p.x, p.feetY, p.shirt);
  finish(r, night, noiseSource(Math.floor(scene.random() * 4294967296)));

  const band = GLYPH_HEIGHT * SCALE + 8;
  r.shade(0, 0, SNAPSHOT_WIDTH, band, 0.35);
  r.shade(0, SNAPSHOT_HEIGHT - band, SNAPSHOT_WIDTH, band, 0.35);
  drawText(r, fit(scene.time, SNAPSHOT_WIDTH - 40), 6, 4, SCALE, WHITE);
  // A recording dot, as overlays show.
  r.fillRect(SNAPSHOT_WIDTH - 20, 6, 10, 10, [230, 30, 30]);
  drawText(r, fit(night ? `${scene.label} IR` : scene.label, SNAPSHOT_WIDTH - 12), 6, SNAPSHOT_HEIGHT - band + 4, SCALE, WHITE);
  const jpeg = r.toJpeg(80);
  return scene.takenAt === undefined ? jpeg : withComment(jpeg, `taken ${scene.takenAt}`);
}

/** Inserts a COM (0xFFFE) segment right after SOI: readers that do not know it skip it. */
export function withComment(jpeg: Buffer, text: string): Buffer {
  const body = Buffer.from(text, 'utf8');
  const segment = Buffer.alloc(4 + body.length);
  segment.writeUInt16BE(0xfffe, 0);
  segment.writeUInt16BE(body.length + 2, 2);
  body.copy(segment, 4);
  return Buffer.concat([jpeg.subarray(0, 2), segment, jpeg.subarray(2)]);
}

/** The text of a JPEG's first COM segment before the scan, or null. */
export function jpegComment(jpeg: Buffer): string | null {
  let i = 2;
  while (i + 4 <= jpeg.length && jpeg[i] === 0xff) {
    const marker = jpeg[i + 1] ?? 0;
    const length = jpeg.readUInt16BE(i + 2);
    if (marker === 0xfe) return jpeg.subarray(i + 4, i + 2 + length).toString('utf8');
    if (marker === 0xda) break;
    i += 2 + length;
  }
  return null;
}
