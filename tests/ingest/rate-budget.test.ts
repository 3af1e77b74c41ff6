import { describe, expect, it } from 'vitest';
import { getDeviceType } from '../../devices/index.ts';
import { parseConfig } from '../../server/config.ts';
import { RateBudgets, resolveRateBudgets, TokenBucket } from '../../server/ingest/rate-budget.ts';

describe('TokenBucket', () => {
  it('starts full, admits while at least one event is left, then refuses', () => {
    const bucket = new TokenBucket({ perSecond: 5, burst: 60 }, 0);
    expect(bucket.available(0)).toBe(60);
    bucket.charge(32, 0);
    expect(bucket.admits(0)).toBe(true);
    bucket.charge(27, 0);
    expect(bucket.admits(0)).toBe(true);
    bucket.charge(1, 0);
    expect(bucket.admits(0)).toBe(false);
    expect(bucket.available(0)).toBe(0);
  });

  it('refills at perSecond, never beyond burst', () => {
    const bucket = new TokenBucket({ perSecond: 5, burst: 60 }, 0);
    bucket.charge(60, 0);
    expect(bucket.admits(100)).toBe(false);
    expect(bucket.available(200)).toBeCloseTo(1);
    expect(bucket.admits(200)).toBe(true);
    expect(bucket.available(2_200)).toBeCloseTo(11);
    expect(bucket.isFull(2_200)).toBe(false);
    expect(bucket.available(3_600_000)).toBe(60);
    expect(bucket.isFull(3_600_000)).toBe(true);
  });

  it('lets a batch bigger than what is left through into debt, which the device then waits off', () => {
    const bucket = new TokenBucket({ perSecond: 2, burst: 40 }, 0);
    bucket.charge(35, 0);
    expect(bucket.admits(0)).toBe(true);
    bucket.charge(32, 0);
    expect(bucket.available(0)).toBe(-27);
    // 28 events' worth of refill at 2/s: 14 s before the next message is admitted.
    expect(bucket.admits(13_900)).toBe(false);
    expect(bucket.admits(14_000)).toBe(true);
  });

  it('lets through at most burst + perSecond × elapsed + one message under a flood', () => {
    const budget = { perSecond: 10, burst: 40 };
    for (const perMessage of [1, 4, 32]) {
      const bucket = new TokenBucket(budget, 0);
      let taken = 0;
      for (let t = 0; t <= 10_000; t += 3) {
        if (!bucket.admits(t)) continue;
        bucket.charge(perMessage, t);
        taken += perMessage;
      }
      expect(taken, `${perMessage} per message`).toBeLessThanOrEqual(budget.burst + budget.perSecond * 10 + perMessage - 1);
      expect(taken, `${perMessage} per message`).toBeGreaterThanOrEqual(budget.burst + budget.perSecond * 10 - perMessage);
    }
  });

  it('does not drain or overfill when the clock steps back', () => {
    const bucket = new TokenBucket({ perSecond: 5, burst: 60 }, 10_000);
    bucket.charge(60, 10_000);
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
    expect(budgets.admits('a', 'door-sensor')).toBe(true);
    budgets.charge('a', 'door-sensor', 40);
    expect(budgets.admits('a', 'door-sensor')).toBe(false);
    expect(budgets.admits('b', 'door-sensor')).toBe(true);
    budgets.charge('b', 'door-sensor', 39);
    expect(budgets.admits('b', 'door-sensor')).toBe(true);
    clock.now = 500;
    expect(budgets.admits('a', 'door-sensor')).toBe(true);
  });

  it('does not limit a type without a budget', () => {
    const budgets = make({ now: 0 });
    budgets.charge('x', 'toaster', 10_000);
    expect(budgets.admits('x', 'toaster')).toBe(true);
    expect(budgets.size).toBe(0);
  });

  it('gives a device whose type changed a bucket of its new type', () => {
    const clock = { now: 0 };
    const budgets = new RateBudgets({ budgetOf: (type) => (type === 'camera' ? { perSecond: 1, burst: 300 } : budget), now: () => clock.now });
    budgets.charge('a', 'door-sensor', 40);
    expect(budgets.admits('a', 'door-sensor')).toBe(false);
    expect(budgets.admits('a', 'camera')).toBe(true);
    budgets.charge('a', 'camera', 100);
    expect(budgets.admits('a', 'camera')).toBe(true);
  });

  it('drops the buckets of devices that went quiet (full again), so the map does not grow forever', () => {
    const clock = { now: 0 };
    const budgets = make(clock, 1_000);
    for (let i = 0; i < 1_000; i++) budgets.charge(`dev-${i}`, 'door-sensor', 1);
    expect(budgets.size).toBe(1_000);
    // Half a second refills one event: every bucket is full again at the next sweep.
    clock.now = 1_000;
    budgets.admits('busy', 'door-sensor');
    budgets.charge('busy', 'door-sensor', 40);
    expect(budgets.size).toBe(1);
    // A bucket still refilling is kept: dropping it would hand the device a fresh burst.
    clock.now = 2_000;
    expect(budgets.admits('busy', 'door-sensor')).toBe(true);
    budgets.charge('other', 'door-sensor', 1);
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

  it('refuses overrides for types that are not in the catalogue, all at once', () => {
    let error: unknown;
    try {
      resolveRateBudgets({ door_sensor: { perSecond: 1, burst: 60 }, camera: { perSecond: 1, burst: 8 }, cameras: { perSecond: 1, burst: 8 } });
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ code: 'STW_ERR_CONFIG_INVALID' });
    expect((error as Error).message).toMatch(/door_sensor: no device type/);
    expect((error as Error).message).toMatch(/cameras: no device type/);
    expect((error as Error).message).not.toMatch(/camera:/);
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
