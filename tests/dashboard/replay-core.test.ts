/** Replay arithmetic and the console's ordering, in Node (no browser needed). */
import { describe, expect, it } from 'vitest';
import type { Alarm } from '../../server/alarms/types.ts';
import type { SiteState } from '../../server/twin/types.ts';
import { sortAlarms } from '../../dashboard/src/alarm-order.ts';
import { entranceSeries, type FootfallSummaryResponse } from '../../dashboard/src/footfall-data.ts';
import { changesUpTo, openAt, stateAt, type HistoryChange, type ReplayAlarm } from '../../dashboard/src/replay-core.ts';

const base: SiteState = {
  site: 's',
  zones: { r1: { id: 'r1', site: 's', floor: 'f1', door: 'closed', doorChangedAt: null, occupancy: null, capacity: null, lastMotionAt: null } },
  devices: {},
};
const changes: HistoryChange[] = [
  [1000, 'z', 'r1', 'door', 'open'],
  [2000, 'z', 'r1', 'door', 'closed'],
  [2000, 'd', 'new-door', 'door', 'closed'],
  [3000, 'z', 'r1', 'door', 'open'],
];

describe('replay state', () => {
  it('applies the changes at or before the instant, and leaves the base untouched', () => {
    expect(changesUpTo(changes, 999)).toBe(0);
    expect(changesUpTo(changes, 2000)).toBe(3);
    expect(changesUpTo(changes, 5000)).toBe(4);
    expect(stateAt(base, changes, 500).zones.r1?.door).toBe('closed');
    expect(stateAt(base, changes, 1500).zones.r1?.door).toBe('open');
    expect(stateAt(base, changes, 2500).zones.r1?.door).toBe('closed');
    expect(stateAt(base, changes, 3000).zones.r1?.door).toBe('open');
    expect(base.zones.r1?.door).toBe('closed');
  });

  it('starts a record for a device the base state did not hold', () => {
    expect(stateAt(base, changes, 2000).devices['new-door']).toMatchObject({ id: 'new-door', door: 'closed' });
  });

  it('lists the alarms open at an instant, acknowledged or not as they were then', () => {
    const a: ReplayAlarm = { id: 'a', severity: 'critical', zone: 'r1', device: null, rule: 'x', message: { en: 'm', 'zh-CN': 'm' }, firstAt: new Date(1000).toISOString(), acknowledgedAt: new Date(2000).toISOString(), clearedAt: new Date(3000).toISOString() };
    expect(openAt([a], 500)).toEqual([]);
    expect(openAt([a], 1500).map((x) => x.state)).toEqual(['active']);
    expect(openAt([a], 2500).map((x) => x.state)).toEqual(['acknowledged']);
    expect(openAt([a], 3000)).toEqual([]);
  });
});

describe('alarm console order', () => {
  it('sorts by severity, then oldest first', () => {
    const mk = (id: string, severity: Alarm['severity'], firstAt: string) => ({ id, severity, firstAt }) as Alarm;
    const sorted = sortAlarms([mk('minor', 'minor', '2026-01-01T00:00:00Z'), mk('crit-new', 'critical', '2026-01-01T02:00:00Z'), mk('crit-old', 'critical', '2026-01-01T01:00:00Z')]);
    expect(sorted.map((a) => a.id)).toEqual(['crit-old', 'crit-new', 'minor']);
  });
});

describe('footfall series', () => {
  it('sums counters per entrance and for the site', () => {
    const hours = (v: number) => ({ in: new Array<number>(24).fill(v), out: new Array<number>(24).fill(0) });
    const day = (v: number) => ({ today: hours(v), lastWeek: hours(v * 2), totals: { today: { in: 0, out: 0 }, lastWeekSameTime: { in: 0, out: 0 }, lastWeek: { in: 0, out: 0 } } });
    const summary = {
      counters: [
        { device: 'c1', zone: 'south', counts: 'hall', ...day(1) },
        { device: 'c2', zone: 'south', counts: 'hall', ...day(2) },
        { device: 'c3', zone: 'north', counts: 'hall', ...day(5) },
      ],
      halls: [],
    } as unknown as FootfallSummaryResponse;
    const [site, south, north] = entranceSeries(summary);
    expect(site?.zone).toBeNull();
    expect(site?.today.in[3]).toBe(8);
    expect(south?.today.in[0]).toBe(3);
    expect(south?.lastWeek.in[0]).toBe(6);
    expect(north?.zone).toBe('north');
  });
});
