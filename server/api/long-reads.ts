/**
 * Admission for long reads (backtests): at most `perServer` run at once on the server and
 * `perUser` for one user; another one is refused with 429 STW_ERR_BUSY and a Retry-After.
 * Long reads run in slices that leave the event loop to ingest (server/storage/yield.ts), but
 * each one running lengthens every turn of the loop by one slice and holds its working set
 * (a private twin and rule engine) in memory, so they are few by design, not by luck.
 *
 * Retry-After is an honest estimate, not a constant: from a running read's elapsed time and
 * the progress it reports (the fraction of its range replayed), capped by its time bound —
 * the read stops there whatever happens.
 */

export interface LongReadGateOptions {
  /** Long reads running at once on this server. */
  perServer: number;
  /** Long reads running at once for one user. */
  perUser: number;
  /** The time bound of one read (ms): the longest a running one can still take. */
  maxMs: number;
  /** Milliseconds, monotonic. Default performance.now. */
  now?: () => number;
}

export interface LongReadTicket {
  /** How far the read is, 0..1: refines the Retry-After others are given. */
  progress(fraction: number): void;
  /** Frees the slot; safe to call more than once. */
  release(): void;
}

export type Admission =
  | { ok: true; ticket: LongReadTicket }
  /** `limit`: which bound refused it (the server's or the user's). */
  | { ok: false; limit: 'server' | 'user'; retryAfterS: number };

interface Running {
  user: string;
  startedAt: number;
  fraction: number;
}

export class LongReadGate {
  private readonly running = new Set<Running>();
  private readonly now: () => number;

  constructor(private readonly opts: LongReadGateOptions) {
    this.now = opts.now ?? (() => performance.now());
  }

  /** Takes a slot for `user` (a stable id), or says when to come back. */
  tryEnter(user: string): Admission {
    const all = [...this.running];
    const mine = all.filter((r) => r.user === user);
    const serverFull = all.length >= this.opts.perServer;
    const userFull = mine.length >= this.opts.perUser;
    if (serverFull || userFull) {
      // A slot opens when one of the reads holding it ends: the soonest of them. When both
      // bounds are reached, both must open.
      const wait = Math.max(serverFull ? this.soonestEnd(all) : 0, userFull ? this.soonestEnd(mine) : 0);
      return { ok: false, limit: userFull ? 'user' : 'server', retryAfterS: Math.max(1, Math.ceil(wait / 1000)) };
    }
    const entry: Running = { user, startedAt: this.now(), fraction: 0 };
    this.running.add(entry);
    return {
      ok: true,
      ticket: {
        progress: (fraction) => {
          if (Number.isFinite(fraction)) entry.fraction = Math.min(1, Math.max(0, fraction));
        },
        release: () => {
          this.running.delete(entry);
        },
      },
    };
  }

  /** Reads running now. */
  get size(): number {
    return this.running.size;
  }

  /** Milliseconds until the first of `reads` is expected to end. */
  private soonestEnd(reads: readonly Running[]): number {
    const now = this.now();
    let soonest = Infinity;
    for (const r of reads) {
      const elapsed = now - r.startedAt;
      const bound = Math.max(0, this.opts.maxMs - elapsed);
      // At a steady pace the rest takes elapsed × (1 − f) / f; before any progress, the bound.
      const paced = r.fraction > 0 ? (elapsed * (1 - r.fraction)) / r.fraction : bound;
      soonest = Math.min(soonest, Math.min(bound, paced));
    }
    return soonest === Infinity ? 0 : soonest;
  }
}
