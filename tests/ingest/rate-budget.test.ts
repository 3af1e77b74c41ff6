import { describe, expect, it } from 'vitest';
import { getDeviceType } from '../../devices/index.ts';
import { parseConfig } from '../../server/config.ts';
import { RateBudgets, resolveRateBudgets, TokenBucket } from '../../server/ingest/rate-budget.ts';

describe('TokenBucket', () => {
  it('starts full, gives out its burst at once, then refuses', () => {
    const bucket = new TokenBucket({ perSecond: 5, burst: 60 }, 0);
    expect(bucket.available(0)).toBe(60);
    expect(bucket.tryTake(32, 0)).toBe(true);
    expect(bucket.tryTake(28, 0)).toBe(true);
    expect(bucket.tryTake(1, 0)).toBe(false);
    expect(bucket.available(0)).toBe(0);
  });

  it('refills at perSecond, never beyond burst', () => {
    const bucket = new TokenBucket({ perSecond: 5, burst: 60 }, 0);
    bucket.tryTake(60, 0);
    expect(bucket.available(200)).toBeCloseTo(1);
    expect(bucket.tryTake(1, 200)).toBe(true);
    expect(bucket.tryTake(1, 300)).toBe(false);
    expect(bucket.available(2_200)).toBeCloseTo(10);
    expect(bucket.available(3_600_000)).toBe(60);
    expect(bucket.isFull(3_600_000)).toBe(true);
  });

  it('takes a message whole or not at all', () => {
    const bucket = new TokenBucket({ perSecond: 1, burst: 40 }, 0);
    bucket.tryTake(35, 0);
    expect(bucket.tryTake(8, 0)).toBe(false);
    // The refused message charged nothing: a smaller one still fits.
    expect(bucket.available(0)).toBe(5);
    expect(bucket.tryTake(5, 0)).toBe(true);
  });

  it('lets through at most burst + perSecond × elapsed under a flood', () => {
    const bucket = new TokenBucket({ perSecond: 10, burst: 40 }, 0);
    let taken = 0;
    for (let t = 0; t <= 10_000; t += 3) if (bucket.tryTake(4, t)) taken += 4;
    expect(taken).toBeLessThanOrEqual(40 + 10 * 10);
    expect(taken).toBeGreaterThanOrEqual(40 + 10 * 10 - 4);
  });

  it('does not drain or overfill when the clock steps back', () => {
    const bucket = new TokenBucket({ perSecond: 5, burst: 60 }, 10_000);
    bucket.tryTake(60, 10_000);
    expect(bucket.available(5_000)).toBe(0);
    expect(bucket.available(11_000)).toBeCloseTo(5);
  });
});

describe('RateBudgets', () => {
  const budget = { perSecond: 2, burst: 40 };
  const make = (clock: { now: number }, sweepEveryMs = 60_000) =>
    new RateBudgets({ budgetOf: (type) => (type === 'door-sensor' ? budget : undefined), now: () => clock.now, sweepEveryMs });

  it('keeps one bucket per device: one device flooding leaves the others theirs', () => {
    const clock = { now: 0 };
    const budgets = make(clock);
    expect(budgets.take('a', 'door-sensor', 40)).toBe(true);
    expect(budgets.exhausted('a', 'door-sensor')).toBe(true);
    expect(budgets.take('a', 'door-sensor', 1)).toBe(false);
    expect(budgets.exhausted('b', 'door-sensor')).toBe(false);
    expect(budgets.take('b', 'door-sensor', 40)).toBe(true);
    clock.now = 500;
    expect(budgets.exhausted('a', 'door-sensor')).toBe(false);
    expect(budgets.take('a', 'door-sensor', 1)).toBe(true);
  });

  it('does not limit a type without a budget', () => {
    const budgets = make({ now: 0 });
    expect(budgets.take('x', 'toaster', 10_000)).toBe(true);
    expect(budgets.exhausted('x', 'toaster')).toBe(false);
    expect(budgets.size).toBe(0);
  });

  it('drops the buckets of devices that went quiet (full again), so the map does not grow forever', () => {
    const clock = { now: 0 };
    const budgets = make(clock, 1_000);
    for (let i = 0; i < 1_000; i++) budgets.take(`dev-${i}`, 'door-sensor', 1);
    expect(budgets.size).toBe(1_000);
    // Half a second refills one event: every bucket is full again at the next sweep.
    clock.now = 1_000;
    budgets.take('busy', 'door-sensor', 40);
    expect(budgets.size).toBe(1);
    // A bucket still refilling is kept: dropping it would hand the device a fresh burst.
    clock.now = 2_000;
    budgets.take('other', 'door-sensor', 1);
    expect(budgets.exhausted('busy', 'door-sensor')).toBe(false);
    expect(budgets.size).toBe(2);
  });
});

describe('resolveRateBudgets', () => {
  it("uses each type's declared budget unless the config overrides it", () => {
    const budgets = resolveRateBudgets({ 'door-sensor': { perSecond: 1, burst: 32 } });
    expect(budgets.get('door-sensor')).toEqual({ perSecond: 1, burst: 32 });
    expect(budgets.get('camera')).toEqual(getDeviceType('camera')?.rateBudget);
    expect(budgets.get('footfall-counter')).toEqual(getDeviceType('footfall-counter')?.rateBudget);
  });

  it('refuses unknown types and bursts that cannot hold one full batch, all at once', () => {
    let error: unknown;
    try {
      resolveRateBudgets({ door_sensor: { perSecond: 1, burst: 60 }, camera: { perSecond: 1, burst: 8 } });
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ code: 'STW_ERR_CONFIG_INVALID' });
    expect((error as Error).message).toMatch(/door_sensor.*no device type/);
    expect((error as Error).message).toMatch(/camera\.burst: must be at least 32/);
  });

  it('takes overrides from the ingest section of the config, whose shape is checked there', () => {
    const config = parseConfig({ ingest: { rateBudgets: { 'door-sensor': { perSecond: 0.5, burst: 32 } } } });
    expect(resolveRateBudgets(config.ingest.rateBudgets).get('door-sensor')).toEqual({ perSecond: 0.5, burst: 32 });
    expect(parseConfig({}).ingest.rateBudgets).toEqual({});
    for (const bad of [{ perSecond: 0, burst: 60 }, { perSecond: 1, burst: 1.5 }, { perSecond: 1 }, { perSecond: 1, burst: 60, extra: 1 }]) {
      expect(() => parseConfig({ ingest: { rateBudgets: { 'door-sensor': bad } } }), JSON.stringify(bad)).toThrow(/rateBudgets/);
    }
  });
});
