/**
 * Per-device event rate budgets: one token bucket per device, holding `burst` events and
 * refilled at `perSecond`. A device's first message finds a full bucket; a device that floods
 * empties it and has its messages dropped until it refills, without slowing anyone else.
 *
 * The bucket is asked before the message is decoded (is there at least one event left?) and
 * charged after, with the events the message held. A batch larger than what is left is still
 * stored and puts the bucket in debt, which the device then waits off. Refusing it after
 * decoding instead would make every message of a flood cost a full decode while the bucket
 * slowly refills, which is exactly the work the budget is there to avoid; with debt, a device
 * over budget costs one map lookup per message, and at most `perSecond` events a second (plus
 * one message's worth) get past it.
 *
 * A full bucket is the same as no bucket (a new one starts full), so buckets that have filled
 * up again are dropped: the map holds only devices that sent recently, not every device ever
 * seen.
 */
import { deviceTypes } from '../../devices/index.ts';
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

  /** Whether the device may send now: at least one event left. */
  admits(nowMs: number): boolean {
    return this.available(nowMs) >= 1;
  }

  /** Charges `n` events; the bucket may go below zero (a batch bigger than what was left). */
  charge(n: number, nowMs: number): void {
    this.refill(nowMs);
    this.tokens -= n;
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

  /** False when the device cannot send even one event now: refuse before decoding anything. */
  admits(deviceId: string, typeId: string): boolean {
    const now = this.opts.now();
    if (now >= this.nextSweep) this.sweep(now);
    const entry = this.buckets.get(deviceId);
    // No bucket (or one for another type, after the device was re-typed) is a full one.
    return entry === undefined || entry.typeId !== typeId || entry.bucket.admits(now);
  }

  /** Charges `events` to the device's bucket, into debt if they are more than it holds. */
  charge(deviceId: string, typeId: string, events: number): void {
    const now = this.opts.now();
    let entry = this.buckets.get(deviceId);
    if (!entry || entry.typeId !== typeId) {
      const budget = this.opts.budgetOf(typeId);
      if (!budget) return;
      entry = { typeId, bucket: new TokenBucket(budget, now) };
      this.buckets.set(deviceId, entry);
    }
    entry.bucket.charge(events, now);
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
 * no known type are configuration errors, reported together.
 */
export function resolveRateBudgets(overrides: Readonly<Record<string, RateBudget>>): Map<string, RateBudget> {
  const known = new Map(deviceTypes.map((t) => [t.id, t.rateBudget]));
  const problems: string[] = [];
  for (const typeId of Object.keys(overrides)) {
    if (!known.has(typeId)) problems.push(`ingest.rateBudgets.${typeId}: no device type "${typeId}" (known: ${[...known.keys()].join(', ')})`);
  }
  if (problems.length > 0) throw new StoreTwinError('STW_ERR_CONFIG_INVALID', `invalid configuration:\n${problems.join('\n')}`);
  for (const [typeId, budget] of Object.entries(overrides)) known.set(typeId, { perSecond: budget.perSecond, burst: budget.burst });
  return known;
}
