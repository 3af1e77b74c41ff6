/**
 * Camera pictures rendered in a worker thread (picture-thread.mjs). The demo's simulators run
 * on the server's event loop, and one 320×240 JPEG costs 60–120 ms of CPU in jpeg-js: measured
 * with the alarm-latency bench at rest, rendering on the loop put door-open → alarm at p50
 * 57 ms, p99 168 ms; without the rendering, p50 18 ms, p99 39 ms. Measured on the 2-core
 * machine: the first picture takes ~650 ms (the thread loads tsx and the renderer), later ones
 * ~83 ms each, and the thread adds ~80 MB of RSS while it runs.
 *
 * A camera asked again while its picture is being made answers with that picture, as a real
 * camera serves the frame it has: in an alarm storm the thread would otherwise fall behind
 * (measured without this, 200 alarms over 40 rooms as fast as the bench raises them: pictures
 * attached p50 2.9 s, p99 4.1 s after the alarm; with it, p50 311 ms, p99 612 ms).
 */
import { Worker } from 'node:worker_threads';
import type { PictureRenderer } from '../devices/types.ts';
import type { SnapshotPlan } from '../devices/shared/snapshot.ts';

interface Waiting {
  resolve: (jpeg: Buffer) => void;
  reject: (err: Error) => void;
}

type FromThread = { id: number; jpeg: Uint8Array } | { id: number; error: string };

export class PictureThread implements PictureRenderer {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly waiting = new Map<number, Waiting>();
  /** Pictures being made, by camera label. */
  private readonly making = new Map<string, Promise<Buffer>>();

  /** Starts the thread now rather than with the first picture. */
  start(): void {
    this.thread();
  }

  render(plan: SnapshotPlan): Promise<Buffer> {
    const current = this.making.get(plan.label);
    if (current) return current;
    const made = this.renderNew(plan).finally(() => this.making.delete(plan.label));
    this.making.set(plan.label, made);
    return made;
  }

  private renderNew(plan: SnapshotPlan): Promise<Buffer> {
    const worker = this.thread();
    const id = this.nextId++;
    return new Promise<Buffer>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ id, plan });
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    this.failAll(new Error('picture thread closed'));
    await worker?.terminate();
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL('./picture-thread.mjs', import.meta.url));
    // Pictures are asked for by simulators that keep the process alive themselves.
    worker.unref();
    worker.on('message', (m: FromThread) => {
      const waiting = this.waiting.get(m.id);
      if (!waiting) return;
      this.waiting.delete(m.id);
      if ('error' in m) waiting.reject(new Error(m.error));
      else waiting.resolve(Buffer.from(m.jpeg.buffer, m.jpeg.byteOffset, m.jpeg.byteLength));
    });
    // A thread that failed is started again with the next picture.
    const lost = (err: Error): void => {
      if (this.worker !== worker) return;
      this.worker = null;
      this.failAll(err);
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`picture thread exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }

  private failAll(err: Error): void {
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
  }
}
