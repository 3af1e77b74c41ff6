/**
 * Event times of a Poisson process whose rate changes through the day. The engine may advance a
 * device by an hour of simulated time in one call (speed-ups up to 3600x), so events are drawn
 * from rates × elapsed time, never from one coin flip per call.
 */
import { exponential, type Random } from './random.ts';
import { HOUR_MS, MINUTE_MS } from './time.ts';

/** Rates are taken as constant over steps this long; daily curves change far more slowly. */
const STEP_MS = 5 * MINUTE_MS;

/**
 * The first event in (fromMs, toMs] of a process with `ratePerHour(ms)` events per hour, or
 * null if none falls in the interval. Exact for a rate that is constant over each step, because
 * the exponential wait is memoryless: an unused draw at a step boundary can simply be redrawn.
 */
export function nextArrival(random: Random, fromMs: number, toMs: number, ratePerHour: (ms: number) => number): number | null {
  let t = fromMs;
  while (t < toMs) {
    const stepEnd = Math.min(toMs, (Math.floor(t / STEP_MS) + 1) * STEP_MS);
    const rate = ratePerHour(t) / HOUR_MS;
    if (rate > 0) {
      const at = t + exponential(random, rate);
      if (at <= stepEnd) return at;
    }
    t = stepEnd;
  }
  return null;
}

/** Every event time in (fromMs, toMs], in order. */
export function arrivals(random: Random, fromMs: number, toMs: number, ratePerHour: (ms: number) => number): number[] {
  const times: number[] = [];
  let t = fromMs;
  for (;;) {
    const next = nextArrival(random, t, toMs, ratePerHour);
    if (next === null) return times;
    times.push(next);
    t = next;
  }
}
