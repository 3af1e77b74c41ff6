/**
 * Cooperative long reads. better-sqlite3 is synchronous, so `await events.query()` resolves as
 * a microtask: a loop over thousands of pages (a backtest, a week of history) never lets the
 * event loop reach its timers or its I/O, and while it runs no PUBACK, no HTTP answer and no
 * /healthz goes out (issue 9: a 31-day backtest held the loop for ~28 s).
 *
 * A long read therefore runs in slices: it asks `slicer.due()` between small units of work (a
 * page, or a few events) and, once the current slice has run `budgetMs`, awaits
 * `slicer.yield()`, which continues on the macrotask queue (setImmediate) after the loop has
 * run its timers and polled its sockets.
 *
 * Long reads take turns (SliceQueue): one slice per turn of the event loop in all, not one per
 * running read, so however many run at once, other work waits for at most one slice between
 * two polls of the sockets. A turn with nothing else to do costs a few µs, so a lone long read
 * loses almost nothing; several share the turns round-robin.
 *
 * The server runs its backtests and long histories in a thread of their own
 * (server/reads/worker.ts): slices there keep that thread's loop free for new jobs and
 * cancellations. On the server's event loop, slices carry the reads that stay there (a day's
 * history, footfall) and every read when there is no thread (in-memory databases, tests).
 */

/**
 * How long one slice may hold the event loop. Ingest's group commit waits 2 ms for company and
 * a PUBACK then needs a turn or two of the loop: with one 5 ms slice per turn, a few ms more.
 * Measured on a month's backtest: slices of p50 5.1, p90 6.4, p99 8.9 ms of CPU.
 */
export const SLICE_MS = 5;

/** Continues after the event loop has run its timers and I/O (the check phase). */
export function nextMacrotask(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Long reads waiting for their next slice; one is let go per turn of the event loop, in order. */
export class SliceQueue {
  private readonly waiting: Array<() => void> = [];
  private scheduled = false;

  /** Resolves in a later turn of the event loop, when it is this caller's turn. */
  next(): Promise<void> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.release);
      }
    });
  }

  /** Reads waiting now. */
  get size(): number {
    return this.waiting.length;
  }

  private readonly release = (): void => {
    const next = this.waiting.shift();
    // Queued during the check phase, this runs in the next turn, after timers and I/O.
    if (this.waiting.length > 0) setImmediate(this.release);
    else this.scheduled = false;
    next?.();
  };
}

/**
 * The process's one event loop has one queue of long reads. Module state, deliberately: two
 * queues (two apps in one test process) would each let a slice go per turn.
 */
export const eventLoopTurns = new SliceQueue();

export class EventLoopSlicer {
  private sliceStart = performance.now();
  private count = 0;
  private longest = 0;
  private total = 0;

  constructor(
    readonly budgetMs: number = SLICE_MS,
    private readonly turns: SliceQueue = eventLoopTurns,
  ) {}

  /** True once the current slice has run its budget: the caller should `await yield()`. */
  due(): boolean {
    return performance.now() - this.sliceStart >= this.budgetMs;
  }

  /** Ends the current slice, lets the event loop run, and starts the next slice. */
  async yield(): Promise<void> {
    this.endSlice();
    await this.turns.next();
    this.sliceStart = performance.now();
  }

  /** Yields if the slice is due; cheap (one clock read) when it is not. */
  async pause(): Promise<void> {
    if (this.due()) await this.yield();
  }

  /** Slices so far (including the running one) and the longest, in ms: for tests and benchmarks. */
  stats(): { slices: number; longestMs: number; meanMs: number } {
    const running = performance.now() - this.sliceStart;
    const slices = this.count + 1;
    return { slices, longestMs: Math.max(this.longest, running), meanMs: (this.total + running) / slices };
  }

  private endSlice(): void {
    const ran = performance.now() - this.sliceStart;
    this.count++;
    this.total += ran;
    if (ran > this.longest) this.longest = ran;
  }
}
