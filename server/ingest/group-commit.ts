/**
 * Group commit: callers add items and wait; items that arrive while a write is running, or
 * within `delayMs` of the first one, are written together in one transaction. With SQLite and
 * synchronous=FULL one fsync then covers a whole batch, which is what lets QoS 1 ingest
 * acknowledge only durable events and still take thousands of events per second (npm run bench).
 */
export interface GroupCommitOptions<T> {
  write: (batch: T[]) => Promise<void>;
  /** Write as soon as this many items wait. */
  maxItems: number;
  /** Wait this long after the first item for company; 0 = the next turn of the event loop. */
  delayMs: number;
  onBatch?: (size: number, seconds: number) => void;
}

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class GroupCommitter<T> {
  private items: T[] = [];
  private waiters: Waiter[] = [];
  /** Items still unwritten per waiter, parallel to `waiters`. */
  private waiterSizes: number[] = [];
  private timer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  private writing: Promise<void> | null = null;

  constructor(private readonly opts: GroupCommitOptions<T>) {}

  /** Resolves once the item is written (durably, if `write` is durable); rejects if the batch failed. */
  add(item: T): Promise<void> {
    return this.addMany([item]);
  }

  addMany(items: readonly T[]): Promise<void> {
    if (items.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.items.push(...items);
      this.waiters.push({ resolve, reject });
      this.waiterSizes.push(items.length);
      this.schedule();
    });
  }

  /** Writes whatever waits and resolves when nothing is pending. */
  async flush(): Promise<void> {
    this.clearTimer();
    while (this.writing || this.items.length > 0) {
      if (this.writing) await this.writing.catch(() => undefined);
      else await this.writeNow().catch(() => undefined);
    }
  }

  get pending(): number {
    return this.items.length;
  }

  private schedule(): void {
    if (this.writing) return; // the running write picks these up when it ends
    if (this.items.length >= this.opts.maxItems) {
      this.clearTimer();
      void this.writeNow().catch(() => undefined);
      return;
    }
    if (this.timer) return;
    this.timer =
      this.opts.delayMs > 0
        ? setTimeout(() => this.fire(), this.opts.delayMs)
        : setImmediate(() => this.fire());
  }

  private fire(): void {
    this.timer = null;
    void this.writeNow().catch(() => undefined);
  }

  private clearTimer(): void {
    if (!this.timer) return;
    clearTimeout(this.timer as NodeJS.Timeout);
    clearImmediate(this.timer as NodeJS.Immediate);
    this.timer = null;
  }

  private writeNow(): Promise<void> {
    if (this.writing) return this.writing;
    if (this.items.length === 0) return Promise.resolve();
    const batch = this.items.splice(0, this.opts.maxItems);
    // Waiters map to items in order only when all their items fit in this batch; a waiter whose
    // items straddle batches is resolved with the later batch (it resolves when ALL are written).
    const waiters = this.takeWaitersFor(batch.length);
    const started = performance.now();
    this.writing = this.opts
      .write(batch)
      .then(
        () => {
          this.opts.onBatch?.(batch.length, (performance.now() - started) / 1000);
          for (const w of waiters) w.resolve();
        },
        (err: unknown) => {
          for (const w of waiters) w.reject(err);
          throw err;
        },
      )
      .finally(() => {
        this.writing = null;
        if (this.items.length > 0) this.schedule();
      });
    return this.writing;
  }

  /** Waiters whose items are all within the first `count` items, in order. */
  private takeWaitersFor(count: number): Waiter[] {
    const taken: Waiter[] = [];
    let covered = 0;
    while (this.waiterSizes.length > 0 && covered + this.waiterSizes[0]! <= count) {
      covered += this.waiterSizes.shift()!;
      taken.push(this.waiters.shift()!);
    }
    if (covered < count && this.waiterSizes.length > 0) {
      // The next waiter's items straddle the batch boundary: it waits for the rest.
      this.waiterSizes[0]! -= count - covered;
    }
    return taken;
  }
}
