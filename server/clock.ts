/**
 * Time as a dependency. Everything that waits (rule timers, escalation, retries) takes a
 * Clock, so tests drive time with ManualClock instead of sleeping.
 */
export interface Clock {
  now(): number;
  /** Calls fn at (or after) `at` ms since the epoch; returns a cancel function. */
  at(at: number, fn: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  at(at, fn) {
    // setTimeout's delay is a 32-bit int: long waits are chained.
    const MAX = 2 ** 31 - 1;
    let timer: NodeJS.Timeout;
    const arm = () => {
      const wait = at - Date.now();
      timer = setTimeout(wait > MAX ? arm : fn, Math.max(0, Math.min(wait, MAX)));
      timer.unref?.();
    };
    arm();
    return () => clearTimeout(timer);
  },
};

/** A clock that moves only when told to; due callbacks run in time order on advance(). */
export class ManualClock implements Clock {
  private timers: Array<{ at: number; fn: () => void; id: number }> = [];
  private nextId = 0;

  constructor(private current = Date.parse('2026-11-23T02:00:00Z')) {}

  now(): number {
    return this.current;
  }

  at(at: number, fn: () => void): () => void {
    const id = this.nextId++;
    this.timers.push({ at, fn, id });
    return () => {
      this.timers = this.timers.filter((t) => t.id !== id);
    };
  }

  /** Moves time forward by `ms`, running every callback that falls due, in order. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at || a.id - b.id);
      const next = this.timers[0];
      if (!next || next.at > target) break;
      this.timers.shift();
      this.current = Math.max(this.current, next.at);
      next.fn();
    }
    this.current = target;
  }

  set(ms: number): void {
    this.advance(Math.max(0, ms - this.current));
  }
}
