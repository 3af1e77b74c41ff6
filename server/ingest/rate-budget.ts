/**
 * Per-device event rate budgets: one token bucket per device, holding `burst` events and
 * refilled at `perSecond`. A device's first message finds a full bucket; a device that floods
 * empties it and has its messages dropped until it refills, without slowing anyone else.
 *
 * A full bucket is the same as no bucket (a new one starts full), so buckets that have filled
 * up again are dropped: the map holds only devices that sent recently, not every device ever
 * seen.
 */
import { deviceTypes } from '../../devices/index.ts';
import { MAX_EVENTS_PER_MESSAGE } from '../../devices/shared/json.ts';
import type { RateBudget } from '../../devices/types.ts';
import { StoreTwinError } from '../errors.ts';

export type { RateBudget };

/** A token bucket read against an injected clock (ms); refilled lazily on each look. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly budget: RateBudget,
    nowMs: number,
  ) {
    this.tokens = budget.burst;
    this.last = nowMs;
  }

  /** Events the device may send now. */
  available(nowMs: number): number {
    this.refill(nowMs);
    return this.tokens;
  }

  /** Takes `n` events if they all fit; a message is stored whole or not at all. */
  tryTake(n: number, nowMs: number): boolean {
    this.refill(nowMs);
    if (n > this.tokens) return false;
    this.tokens -= n;
    return true;
  }

  isFull(nowMs: number): boolean {
    return this.available(nowMs) >= this.budget.burst;
  }

  private refill(nowMs: number): void {
    // A clock stepping back (NTP) must not drain the bucket: time only moves forward here.
    const elapsedMs = Math.max(0, nowMs - this.last);
    this.last = Math.max(this.last, nowMs);
    this.tokens = Math.min(this.budget.burst, this.tokens + (elapsedMs / 1000) * this.budget.perSecond);
  }
}

export interface RateBudgetsOptions {
  /** The budget of a device of this type (config override or the type's default). */
  budgetOf(typeId: string): RateBudget | undefined;
  now: () => number;
  /** How often buckets that filled up again are dropped, ms. */
  sweepEveryMs?: number;
  /** Called after each sweep, for other per-device state that should age out with the buckets. */
  onSweep?: () => void;
}

/** The buckets of every device that sent recently, keyed by device id. */
export class RateBudgets {
  private readonly buckets = new Map<string, { typeId: string; bucket: TokenBucket }>();
  private nextSweep: number;
  private readonly sweepEveryMs: number;

  constructor(private readonly opts: RateBudgetsOptions) {
    this.sweepEveryMs = opts.sweepEveryMs ?? 60_000;
    this.nextSweep = opts.now() + this.sweepEveryMs;
  }

  budgetOf(typeId: string): RateBudget | undefined {
    return this.opts.budgetOf(typeId);
  }

  /** True when the device cannot send even one event now: refuse before decoding anything. */
  exhausted(deviceId: string, typeId: string): boolean {
    const now = this.opts.now();
    if (now >= this.nextSweep) this.sweep(now);
    const entry = this.buckets.get(deviceId);
    return entry !== undefined && entry.typeId === typeId && entry.bucket.available(now) < 1;
  }

  /** Charges `events` to the device; false (and nothing charged) when they do not fit. */
  take(deviceId: string, typeId: string, events: number): boolean {
    const now = this.opts.now();
    if (now >= this.nextSweep) this.sweep(now);
    let entry = this.buckets.get(deviceId);
    if (!entry || entry.typeId !== typeId) {
      const budget = this.opts.budgetOf(typeId);
      if (!budget) return true;
      entry = { typeId, bucket: new TokenBucket(budget, now) };
      this.buckets.set(deviceId, entry);
    }
    return entry.bucket.tryTake(events, now);
  }

  /** Buckets held now (tests, metrics). */
  get size(): number {
    return this.buckets.size;
  }

  /** Drops the buckets that are full again: their devices have been quiet long enough. */
  sweep(now = this.opts.now()): void {
    this.nextSweep = now + this.sweepEveryMs;
    for (const [id, { bucket }] of this.buckets) if (bucket.isFull(now)) this.buckets.delete(id);
    this.opts.onSweep?.();
  }
}

/**
 * Each type's budget: its own default, overridden by `ingest.rateBudgets`. Overrides naming
 * no known type, or with a burst smaller than one full JSON batch (which could then never be
 * stored), are configuration errors, reported together.
 */
export function resolveRateBudgets(overrides: Readonly<Record<string, RateBudget>>): Map<string, RateBudget> {
  const known = new Map(deviceTypes.map((t) => [t.id, t.rateBudget]));
  const problems: string[] = [];
  for (const [typeId, budget] of Object.entries(overrides)) {
    if (!known.has(typeId)) problems.push(`ingest.rateBudgets.${typeId}: no device type "${typeId}" (known: ${[...known.keys()].join(', ')})`);
    if (budget.burst < MAX_EVENTS_PER_MESSAGE) {
      problems.push(`ingest.rateBudgets.${typeId}.burst: must be at least ${MAX_EVENTS_PER_MESSAGE}, the events one message may carry`);
    }
  }
  if (problems.length > 0) throw new StoreTwinError('STW_ERR_CONFIG_INVALID', `invalid configuration:\n${problems.join('\n')}`);
  for (const [typeId, budget] of Object.entries(overrides)) known.set(typeId, { perSecond: budget.perSecond, burst: budget.burst });
  return known;
}
