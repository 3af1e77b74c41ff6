/** Replay marks (dashboard/src/replay-core.ts): clustering by pixels, where a window's data begins; footfall figures. */
import { describe, expect, it } from 'vitest';
import { changePct, insideByHour, yTicks } from '../../dashboard/src/footfall-data.ts';
import { clusterByPixels, noDataUntil } from '../../dashboard/src/replay-core.ts';

const H = 3_600_000;

describe('clustering marks by pixels', () => {
  it('merges marks closer than the gap and keeps far ones apart', () => {
    const from = 0;
    const to = 1000 * 1000; // 1000 px → 1 px per second
    const times = [10_000, 15_000, 30_000, 400_000, 420_000, 999_000, 12_000];
    const clusters = clusterByPixels(times, (t) => t, from, to, 1000, 28);
    expect(clusters.map((c) => c.items)).toEqual([[10_000, 12_000, 15_000, 30_000], [400_000, 420_000], [999_000]]);
    expect(clusters[0]?.at).toBe(10_000);
    expect(clusters[0]?.x).toBe(10); // at its first mark
    expect(clusters[2]?.x).toBe(999);
  });

  it('374 alarms in 24 h on a 1000 px bar become a few dozen marks, none lost', () => {
    const times = Array.from({ length: 374 }, (_, i) => Math.round((i * 24 * H) / 374 + ((i * 7919) % 600_000)));
    const clusters = clusterByPixels(times, (t) => t, 0, 24 * H, 1000);
    expect(clusters.length).toBeGreaterThan(20);
    expect(clusters.length).toBeLessThan(60);
    expect(clusters.reduce((n, c) => n + c.items.length, 0)).toBe(374);
    for (let i = 1; i < clusters.length; i++) expect(clusters[i]!.x - clusters[i - 1]!.x).toBeGreaterThan(32);
  });

  it('on a narrower bar the same marks merge more', () => {
    const times = [0, 60_000, 120_000, 3 * H];
    expect(clusterByPixels(times, (t) => t, 0, 24 * H, 2000, 1)).toHaveLength(4);
    expect(clusterByPixels(times, (t) => t, 0, 24 * H, 300, 1)).toHaveLength(2);
  });
});

describe('no data', () => {
  const from = '2026-11-30T00:00:00.000Z';
  const to = '2026-11-30T06:00:00.000Z';
  it('lasts until the first event folded, held to the window', () => {
    expect(noDataUntil({ from, to, dataFrom: '2026-11-30T02:00:00.000Z' })).toBe(Date.parse('2026-11-30T02:00:00Z'));
    // Data from the lookback before the window: known from the start.
    expect(noDataUntil({ from, to, dataFrom: '2026-11-29T23:00:00.000Z' })).toBe(Date.parse(from));
    // No event at all: the whole window.
    expect(noDataUntil({ from, to, dataFrom: null })).toBe(Date.parse(to));
    // An older server that does not say: assume data.
    expect(noDataUntil({ from, to })).toBe(Date.parse(from));
  });
});

describe('footfall figures', () => {
  it('counts the people inside hour by hour from midnight, never below zero, none in the future', () => {
    const inn = new Array<number>(24).fill(0);
    const out = new Array<number>(24).fill(0);
    inn[9] = 50;
    out[9] = 10;
    inn[10] = 20;
    out[10] = 45;
    out[11] = 30; // more out than in: a missed crossing
    expect(insideByHour({ in: inn, out }, 12).slice(8, 14)).toEqual([0, 40, 15, 0, null, null]);
  });

  it('y-axis ticks are round and cover the largest value', () => {
    expect(yTicks(684)).toEqual([0, 200, 400, 600, 800]);
    expect(yTicks(37)).toEqual([0, 10, 20, 30, 40]);
    expect(yTicks(3)).toEqual([0, 1, 2, 3]);
    expect(yTicks(0)).toEqual([0, 1]);
  });

  it('change against last week in percent', () => {
    expect(changePct(684, 600)).toBe(14);
    expect(changePct(500, 600)).toBe(-17);
    expect(changePct(5, 0)).toBeNull();
  });
});
