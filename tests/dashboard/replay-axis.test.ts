/** The replay's time axis (dashboard/src/time-axis.ts): steps for the width, ticks on the site's round wall times. */
import { describe, expect, it } from 'vitest';
import { axisStep, timeTicks } from '../../dashboard/src/time-axis.ts';

const H = 3_600_000;
const M = 60_000;

describe('time axis', () => {
  it('spaces an hour in minutes and a day in hours, wider with less room', () => {
    expect(axisStep(H, 1000)).toBe(5);
    expect(axisStep(H, 300)).toBe(15);
    expect(axisStep(24 * H, 1000)).toBe(120);
    expect(axisStep(24 * H, 340)).toBe(360);
    expect(axisStep(7 * 24 * H, 1000)).toBe(720);
    expect(axisStep(7 * 24 * H, 300)).toBe(1440);
  });

  it('labels a last-hour window with site times every 5 minutes', () => {
    const from = Date.parse('2026-11-30T05:58:20Z'); // 13:58:20 in Shanghai
    const ticks = timeTicks(from, from + H, 1000, 'Asia/Shanghai', 'en');
    expect(ticks.map((k) => k.label)).toEqual(['14:00', '14:05', '14:10', '14:15', '14:20', '14:25', '14:30', '14:35', '14:40', '14:45', '14:50', '14:55']);
    expect(ticks[0]?.t).toBe(Date.parse('2026-11-30T06:00:00Z'));
    for (const k of ticks) expect(k.t).toBeGreaterThanOrEqual(from);
  });

  it('labels a 24 h window every 2 h on the local clock, the midnight with its date', () => {
    const from = Date.parse('2026-11-29T06:30:00Z'); // 14:30 in Shanghai
    const ticks = timeTicks(from, from + 24 * H, 1000, 'Asia/Shanghai', 'en');
    expect(ticks.map((k) => k.label)).toEqual(['16:00', '18:00', '20:00', '22:00', 'Nov 30', '02:00', '04:00', '06:00', '08:00', '10:00', '12:00', '14:00']);
    expect(ticks.filter((k) => k.day).map((k) => k.t)).toEqual([Date.parse('2026-11-29T16:00:00Z')]);
    expect(timeTicks(from, from + 24 * H, 1000, 'Asia/Shanghai', 'zh-CN').find((k) => k.day)?.label).toBe('11月30日');
  });

  it('keeps ticks on round local hours in a +05:45 zone', () => {
    const from = Date.parse('2026-11-29T18:15:00Z'); // 00:00 in Kathmandu
    const ticks = timeTicks(from, from + 24 * H, 340, 'Asia/Kathmandu', 'en');
    expect(ticks.map((k) => k.label)).toEqual(['Nov 30', '06:00', '12:00', '18:00', 'Dec 1']);
  });

  it('follows the wall clock over a DST change: no 02:00 on the spring day, 01:00 twice in autumn', () => {
    const spring = timeTicks(Date.parse('2026-03-28T23:00:00Z'), Date.parse('2026-03-29T22:00:00Z'), 1600, 'Europe/Berlin', 'en');
    expect(spring.map((k) => k.label).slice(0, 4)).toEqual(['Mar 29', '01:00', '03:00', '04:00']);
    expect(spring[2]!.t - spring[1]!.t).toBe(H);
    const autumn = timeTicks(Date.parse('2026-10-24T22:00:00Z'), Date.parse('2026-10-25T23:00:00Z'), 1600, 'Europe/Berlin', 'en');
    expect(autumn.map((k) => k.label).slice(0, 4)).toEqual(['Oct 25', '01:00', '02:00', '02:00']);
    // Every tick lies in the window and they are in time order, at least a step apart.
    for (let i = 1; i < autumn.length; i++) expect(autumn[i]!.t - autumn[i - 1]!.t).toBeGreaterThanOrEqual(60 * M);
  });

  it('gives nothing for an empty window', () => {
    expect(timeTicks(1000, 1000, 500, 'Asia/Shanghai', 'en')).toEqual([]);
  });
});
