/** A small RGBA pixel buffer with the few drawing operations snapshots need, encoded as JPEG. */
import { encode as encodeJpeg } from 'jpeg-js';

export type Rgb = readonly [number, number, number];

export class Raster {
  readonly data: Buffer;

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.data = Buffer.alloc(width * height * 4, 0xff);
  }

  setPixel(x: number, y: number, [r, g, b]: Rgb): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const i = (y * this.width + x) * 4;
    this.data[i] = r;
    this.data[i + 1] = g;
    this.data[i + 2] = b;
    this.data[i + 3] = 0xff;
  }

  /** Clipped to the image, so overlays near an edge need no bounds checks. */
  fillRect(x: number, y: number, w: number, h: number, color: Rgb): void {
    const x0 = Math.max(0, Math.floor(x));
    const y0 = Math.max(0, Math.floor(y));
    const x1 = Math.min(this.width, Math.floor(x + w));
    const y1 = Math.min(this.height, Math.floor(y + h));
    for (let py = y0; py < y1; py++) for (let px = x0; px < x1; px++) this.setPixel(px, py, color);
  }

  /** Darkens (factor < 1) a rectangle: a translucent band behind overlay text. */
  shade(x: number, y: number, w: number, h: number, factor: number): void {
    for (let py = Math.max(0, y); py < Math.min(this.height, y + h); py++) {
      for (let px = Math.max(0, x); px < Math.min(this.width, x + w); px++) {
        const i = (py * this.width + px) * 4;
        for (let c = 0; c < 3; c++) this.data[i + c] = Math.round((this.data[i + c] ?? 0) * factor);
      }
    }
  }

  /** Baseline JPEG (jpeg-js writes only baseline DCT), viewable anywhere. */
  toJpeg(quality = 80): Buffer {
    return encodeJpeg({ width: this.width, height: this.height, data: this.data }, quality).data;
  }
}
