/**
 * Response KPIs, the computation (server/kpis/response.ts) with figures worked out by hand, the
 * CSV, and the read through the real alarm store and service on SQLite with a manual clock:
 * a folded alarm counts once, a latched alarm acknowledged after its restore is cleared by that
 * acknowledgement, a re-opened alarm's time to clear runs to its final clear.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { csvField, kpiCsv } from '../../server/kpis/csv.ts';
import { nearestRank, responseKpis, type AckTargets, type KpiAlarm } from '../../server/kpis/response.ts';
import { ResponseKpis } from '../../server/kpis/service.ts';
import { createAlarmFixture, trigger, type AlarmFixture } from '../alarms/fixture.ts';

const TARGETS: AckTargets = { critical: 120, major: 600, minor: 3600, warning: 3600, info: 86_400 };
const T0 = Date.parse('2026-11-23T02:00:00Z');
const s = (seconds: number) => T0 + seconds * 1000;

/** Six alarms; times in seconds after T0. Taken at T0 + 10000 s. */
const ALARMS: KpiAlarm[] = [
  // Folded (count 5), latched, acknowledged after its restore at 60 s: cleared by that ack.
  { id: 'a1', site: 'demo-hotel', rule: 'door-opened-armed', severity: 'critical', count: 5, firstAt: s(0), acknowledgedAt: s(60), acknowledgedBy: 'alice', clearedAt: s(60) },
  // Acknowledged after 300 s: over the 120 s target.
  { id: 'a2', site: 'demo-hotel', rule: 'door-opened-armed', severity: 'critical', count: 1, firstAt: s(100), acknowledgedAt: s(400), acknowledgedBy: 'bob', clearedAt: s(1000) },
  // Acknowledged exactly at its 600 s target (within), still open.
  { id: 'a3', site: 'demo-hotel', rule: 'device-silent', severity: 'major', count: 1, firstAt: s(200), acknowledgedAt: s(800), acknowledgedBy: 'alice', clearedAt: null },
  // Cleared by its rule after 50 s, never acknowledged, target long past: missed.
  { id: 'a4', site: 'demo-shop', rule: 'low-battery', severity: 'minor', count: 1, firstAt: s(300), acknowledgedAt: null, acknowledgedBy: null, clearedAt: s(350) },
  // Raised 10 s before the figures are taken: pending, not (yet) missed.
  { id: 'a5', site: 'demo-shop', rule: 'door-opened-armed', severity: 'critical', count: 1, firstAt: s(9990), acknowledgedAt: null, acknowledgedBy: null, clearedAt: null },
  // Acknowledged after 90 s, finally cleared at 1200 s.
  { id: 'a6', site: 'demo-shop', rule: 'tamper', severity: 'critical', count: 1, firstAt: s(500), acknowledgedAt: s(590), acknowledgedBy: 'bob', clearedAt: s(1700) },
];
const AS_OF = s(10_000);

describe('nearest-rank percentiles', () => {
  it('takes the value at rank ⌈p·n⌉', async () => {
    const ten = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(nearestRank(ten, 50)).toBe(5);
    expect(nearestRank(ten, 90)).toBe(9);
    expect(nearestRank([60, 90, 300, 600], 50)).toBe(90);
    expect(nearestRank([60, 90, 300, 600], 90)).toBe(600);
    expect(nearestRank([42], 50)).toBe(42);
    expect(nearestRank([42], 90)).toBe(42);
    expect(nearestRank([], 50)).toBeNull();
  });
});

describe('response KPIs', () => {
  it('totals: each alarm once, ack and clear times from raise, pending left out of the share', async () => {
    const { total } = responseKpis({ alarms: ALARMS, by: 'site', targets: TARGETS, asOf: AS_OF });
    expect(total).toEqual({
      alarms: 6,
      occurrences: 10,
      acknowledged: 4,
      unacknowledged: 2,
      ackWithinTarget: 3, // a1 60 s, a3 600 s (= target), a6 90 s
      pending: 1,
      ackWithinTargetShare: 3 / 5,
      timeToAck: { median: 90, p90: 600 }, // [60, 90, 300, 600]
      cleared: 4,
      uncleared: 2,
      timeToClear: { median: 60, p90: 1200 }, // [50, 60, 900, 1200]
    });
  });

  it('by person: the acknowledging user, the unacknowledged last under key null', async () => {
    const { groups } = responseKpis({ alarms: ALARMS, by: 'user', targets: TARGETS, asOf: AS_OF });
    expect(groups.map((g) => g.key)).toEqual(['alice', 'bob', null]);
    expect(groups[0]).toMatchObject({ alarms: 2, ackWithinTarget: 2, ackWithinTargetShare: 1, timeToAck: { median: 60, p90: 600 }, cleared: 1, uncleared: 1, timeToClear: { median: 60, p90: 60 } });
    expect(groups[1]).toMatchObject({ alarms: 2, ackWithinTarget: 1, ackWithinTargetShare: 0.5, timeToAck: { median: 90, p90: 300 }, timeToClear: { median: 900, p90: 1200 } });
    expect(groups[2]).toMatchObject({ alarms: 2, acknowledged: 0, unacknowledged: 2, pending: 1, ackWithinTargetShare: 0, timeToAck: { median: null, p90: null }, timeToClear: { median: 50, p90: 50 } });
    expect(groups[2]).not.toHaveProperty('label');
  });

  it('by severity: critical first, each judged against its own target', async () => {
    const { groups } = responseKpis({ alarms: ALARMS, by: 'severity', targets: TARGETS, asOf: AS_OF });
    expect(groups.map((g) => g.key)).toEqual(['critical', 'major', 'minor']);
    expect(groups[0]).toMatchObject({ alarms: 4, occurrences: 8, acknowledged: 3, ackWithinTarget: 2, pending: 1, ackWithinTargetShare: 2 / 3, timeToAck: { median: 90, p90: 300 }, timeToClear: { median: 900, p90: 1200 } });
    expect(groups[1]).toMatchObject({ alarms: 1, ackWithinTargetShare: 1, timeToAck: { median: 600, p90: 600 }, cleared: 0, timeToClear: { median: null, p90: null } });
    expect(groups[2]).toMatchObject({ alarms: 1, ackWithinTarget: 0, pending: 0, ackWithinTargetShare: 0 });
  });

  it('by site with names, by rule; a tighter target changes the share', async () => {
    const name = { en: 'Demo Hotel', 'zh-CN': '演示酒店' };
    const bySite = responseKpis({ alarms: ALARMS, by: 'site', targets: TARGETS, asOf: AS_OF, labels: (id) => (id === 'demo-hotel' ? name : undefined) });
    expect(bySite.groups.map((g) => [g.key, g.alarms, g.label])).toEqual([
      ['demo-hotel', 3, name],
      ['demo-shop', 3, undefined],
    ]);
    const byRule = responseKpis({ alarms: ALARMS, by: 'rule', targets: TARGETS, asOf: AS_OF });
    expect(byRule.groups.map((g) => [g.key, g.alarms])).toEqual([
      ['door-opened-armed', 3],
      ['device-silent', 1],
      ['low-battery', 1],
      ['tamper', 1],
    ]);
    const strict = responseKpis({ alarms: ALARMS, by: 'site', targets: { ...TARGETS, critical: 60 }, asOf: AS_OF });
    expect(strict.total.ackWithinTarget).toBe(2); // a1 at exactly 60 s and a3; a6's 90 s is now late
  });

  it('no alarms: zero counts and nulls, not NaN; a clock step back counts as 0 s', async () => {
    expect(responseKpis({ alarms: [], by: 'site', targets: TARGETS, asOf: AS_OF })).toEqual({
      groups: [],
      total: { alarms: 0, occurrences: 0, acknowledged: 0, unacknowledged: 0, ackWithinTarget: 0, pending: 0, ackWithinTargetShare: null, timeToAck: { median: null, p90: null }, cleared: 0, uncleared: 0, timeToClear: { median: null, p90: null } },
    });
    const back: KpiAlarm = { ...ALARMS[1]!, acknowledgedAt: s(99), clearedAt: s(98) };
    expect(responseKpis({ alarms: [back], by: 'site', targets: TARGETS, asOf: AS_OF }).total).toMatchObject({ ackWithinTarget: 1, timeToAck: { median: 0 }, timeToClear: { median: 0 } });
  });
});

describe('CSV', () => {
  it('BOM, CRLF, a header in the language asked for, the groups and the total', async () => {
    const name = { en: 'Demo Hotel', 'zh-CN': '演示酒店' };
    const r = responseKpis({ alarms: ALARMS, by: 'user', targets: TARGETS, asOf: AS_OF });
    const csv = kpiCsv({ by: 'user', ...r }, 'en');
    expect(csv.startsWith('\uFEFFperson,name,alarms,occurrences,')).toBe(true);
    const lines = csv.slice(1).split('\r\n');
    expect(lines.at(-1)).toBe('');
    expect(lines[1]).toBe('alice,,2,6,2,0,0,2,100,60,600,1,1,60,60');
    expect(lines[3]).toBe(',(not acknowledged),2,2,0,2,1,0,0,,,1,1,50,50');
    expect(lines[4]).toBe('total,,6,10,4,2,1,3,60,90,600,4,2,60,1200');
    const zh = kpiCsv({ by: 'site', ...responseKpis({ alarms: ALARMS, by: 'site', targets: TARGETS, asOf: AS_OF, labels: () => name }) }, 'zh-CN');
    expect(zh.split('\r\n')[0]).toBe('\uFEFF门店,名称,告警数,发生次数,已确认,未确认,待确认（未超时）,及时确认,及时率 %,确认用时中位数（秒）,确认用时 P90（秒）,已清除,未清除,清除用时中位数（秒）,清除用时 P90（秒）');
    expect(zh.split('\r\n')[1]).toMatch(/^demo-hotel,演示酒店,3,7,/);
    expect(zh.split('\r\n').at(-2)).toMatch(/^合计,,6,/);
  });

  it('quotes what needs quoting and defuses formulas', async () => {
    expect(csvField('Shop, "East"')).toBe('"Shop, ""East"""');
    expect(csvField('=HYPERLINK("x")')).toBe('"\'=HYPERLINK(""x"")"');
    expect(csvField('-night.shift')).toBe("'-night.shift");
    expect(csvField(-1.5)).toBe('-1.5');
    expect(csvField(null)).toBe('');
  });
});

describe('read through the alarm store', () => {
  let f: AlarmFixture;
  let kpis: ResponseKpis;
  const iso = (seconds: number) => new Date(s(seconds)).toISOString();
  const at = (seconds: number) => f.clock.set(s(seconds));

  beforeEach(() => {
    f = createAlarmFixture();
    f.clock.set(T0);
    kpis = new ResponseKpis({ alarms: f.store, targets: TARGETS, now: () => f.clock.now() });
  });
  afterEach(() => f.close());

  it('a latched alarm folded three times and acknowledged after its restore, a re-opened one, an unacknowledged one', async () => {
    // Latched, three triggers within a second: one alarm, count 3; restored; acknowledged at 75 s.
    const door = trigger({ rule: 'door-opened-armed', source: 'door-101', severity: 'critical', latch: true, autoClear: true, at: iso(0) });
    const first = (await f.service.raise(door))!;
    await f.service.raise({ ...door, at: new Date(s(0.4)).toISOString() });
    await f.service.raise({ ...door, at: new Date(s(0.8)).toISOString() });
    await f.service.resolve('door-opened-armed', 'door-101', new Date(s(0.9)).toISOString());
    at(75);
    expect(await f.service.acknowledge(first.id, 'alice')).toMatchObject({ count: 3, state: 'cleared', acknowledged: true });

    // Not latched, auto-clear: cleared at 30 s unseen, re-triggered at 40 s (opens again), acknowledged at 700 s, cleared at 1000 s.
    const silent = trigger({ rule: 'device-silent', source: 'door-102', device: 'door-102', severity: 'major', autoClear: true, at: iso(10) });
    const second = (await f.service.raise(silent))!;
    await f.service.resolve('device-silent', 'door-102', iso(30));
    expect(await f.service.get(second.id)).toMatchObject({ state: 'cleared', clearedAt: iso(30) });
    expect(await f.service.raise({ ...silent, at: iso(40) })).toMatchObject({ id: second.id, count: 2, state: 'active', clearedAt: null });
    at(700);
    await f.service.acknowledge(second.id, 'bob');
    at(1000);
    await f.service.clear(second.id, 'bob');

    // Never acknowledged.
    await f.service.raise(trigger({ rule: 'low-battery', source: 'door-103', device: 'door-103', severity: 'minor', at: iso(20) }));
    // Another site, and one raised before the range: neither counted.
    await f.service.raise(trigger({ site: 'demo-shop', rule: 'tamper', source: 'shop-door', at: iso(50) }));
    await f.service.raise(trigger({ rule: 'tamper', source: 'old', at: iso(-10) }));
    await f.service.raise(trigger({ rule: 'tamper', source: 'old', at: iso(100) }));

    at(5000);
    const r = await kpis.report({ sites: ['demo-hotel'], fromMs: T0, toMs: s(3600), by: 'severity' });
    expect(r.asOf).toBe(s(5000));
    // The door in 75 s (target 120 s); the silence in 690 s (target 600 s); the battery never (target long past).
    expect(r.total).toMatchObject({ alarms: 3, occurrences: 6, acknowledged: 2, unacknowledged: 1, ackWithinTarget: 1, pending: 0, ackWithinTargetShare: 1 / 3, cleared: 2, uncleared: 1 });
    expect(r.groups.map((g) => [g.key, g.timeToAck, g.timeToClear])).toEqual([
      ['critical', { median: 75, p90: 75 }, { median: 75, p90: 75 }],
      ['major', { median: 690, p90: 690 }, { median: 990, p90: 990 }],
      ['minor', { median: null, p90: null }, { median: null, p90: null }],
    ]);
    // With a 60 s critical target the door alarm was late too.
    const strict = new ResponseKpis({ alarms: f.store, targets: { ...TARGETS, critical: 60 }, now: () => f.clock.now() });
    expect((await strict.report({ sites: ['demo-hotel', 'demo-shop'], fromMs: T0, toMs: s(3600), by: 'site' })).groups.map((g) => [g.key, g.alarms, g.ackWithinTarget])).toEqual([
      ['demo-hotel', 3, 0],
      ['demo-shop', 1, 0],
    ]);
  });

  it('reads page after page, and refuses more alarms than a request may read', async () => {
    // Raised out of order, and with equal times: the keyset (lastAt, id) must neither skip nor repeat one.
    for (let i = 0; i < 40; i++) (await f.service.raise(trigger({ rule: 'low-battery', source: `dev-${i}`, severity: 'minor', at: new Date(s((i * 7) % 13)).toISOString() })));
    const paged = new ResponseKpis({ alarms: f.store, targets: TARGETS, now: () => f.clock.now(), pageSize: 3 });
    const r = await paged.report({ sites: ['demo-hotel'], fromMs: T0, toMs: s(3600), by: 'rule' });
    expect(r.groups).toEqual([expect.objectContaining({ key: 'low-battery', alarms: 40, occurrences: 40 })]);
    const bounded = new ResponseKpis({ alarms: f.store, targets: TARGETS, now: () => f.clock.now(), maxAlarms: 39, pageSize: 3 });
    await expect(bounded.report({ sites: ['demo-hotel'], fromMs: T0, toMs: s(3600), by: 'rule' })).rejects.toMatchObject({ code: 'STW_ERR_QUERY_TOO_LARGE' });
  });
});
