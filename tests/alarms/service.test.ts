import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { alarmTopic, SUPPRESSED_RULE } from '../../server/alarms/service.ts';
import { apply, raise } from '../../server/alarms/state-machine.ts';
import type { Alarm, AlarmAction, AlarmTrigger } from '../../server/alarms/types.ts';
import { StoreTwinError } from '../../server/errors.ts';
import { createAlarmFixture, trigger, type AlarmFixture } from './fixture.ts';

async function expectCode(fn: () => unknown, code: string): Promise<void> {
  try {
    await fn();
  } catch (err) {
    expect(err).toBeInstanceOf(StoreTwinError);
    expect((err as StoreTwinError).code).toBe(code);
    return;
  }
  expect.fail(`expected ${code}`);
}

describe('AlarmService', () => {
  let f: AlarmFixture;
  let changes: Array<{ alarm: Alarm; action: AlarmAction }>;

  beforeEach(() => {
    f = createAlarmFixture();
    changes = [];
    f.bus.on('alarm.changed', (c) => changes.push(c));
  });
  afterEach(() => f.close());

  it('runs the full lifecycle: raise, repeat, ack, clear — each with history, delivery, bus and MQTT', async () => {
    const raised = (await f.service.raise(trigger()))!;
    expect(raised).toMatchObject({ state: 'active', count: 1, site: 'demo-hotel', firstAt: '2026-11-23T02:14:07.000Z' });
    expect(raised.id).toMatch(/^[0-9a-f-]{36}$/);

    const repeated = (await f.service.raise(trigger({ at: '2026-11-23T02:14:30Z' })))!;
    expect(repeated).toMatchObject({ id: raised.id, count: 2, lastAt: '2026-11-23T02:14:30.000Z' });

    f.clock.advance(60_000);
    const acked = await f.service.acknowledge(raised.id, 'alice', 'on my way');
    expect(acked).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'alice', acknowledgedAt: '2026-11-23T02:01:00.000Z' });

    f.clock.advance(60_000);
    const cleared = await f.service.clear(raised.id, 'bob');
    expect(cleared).toMatchObject({ state: 'cleared', acknowledged: true, clearedBy: 'bob', clearedAt: '2026-11-23T02:02:00.000Z' });

    const stored = (await f.service.get(raised.id))!;
    expect(stored).toEqual(cleared);
    expect(stored.history.map((h) => [h.action, h.by, h.at, h.comment])).toEqual([
      ['raised', 'rule:door-armed', '2026-11-23T02:14:07.000Z', undefined],
      ['acknowledged', 'alice', '2026-11-23T02:01:00.000Z', 'on my way'],
      ['cleared', 'bob', '2026-11-23T02:02:00.000Z', undefined],
    ]);

    expect(changes.map((c) => c.action)).toEqual(['raised', 'repeated', 'acknowledged', 'cleared']);
    expect(f.deliveries(raised.id).map((d) => JSON.parse(d.payload).action)).toEqual(['raised', 'repeated', 'acknowledged', 'cleared']);
    expect(f.published.map((p) => p.topic)).toEqual(Array(4).fill(alarmTopic('demo-hotel')));
    const last = JSON.parse(f.published[3]!.payload.toString('utf8'));
    expect(last.action).toBe('cleared');
    expect(last.alarm).toMatchObject({ id: raised.id, state: 'cleared' });
    expect(last.alarm).not.toHaveProperty('history');

    // A trigger after clearing opens a new alarm for the same (rule, source).
    const again = (await f.service.raise(trigger({ at: '2026-11-23T03:00:00Z' })))!;
    expect(again.id).not.toBe(raised.id);
    expect(again.count).toBe(1);
    expect((await f.service.open()).map((a) => a.id)).toEqual([again.id]);
  });

  it('the stored repeat agrees with the state machine (the SQL upsert mirrors it)', async () => {
    const first = trigger({ severity: 'minor', details: { opened: 1, nested: { a: 1 } } });
    const a = (await f.service.raise(first))!;
    const second = trigger({ at: '2026-11-23T02:10:00Z', severity: 'critical', message: { en: 'worse', 'zh-CN': '更糟' }, details: { nested: { b: 2 } } });
    const b = (await f.service.raise(second))!;
    const expected = apply(raise({ ...first, at: '2026-11-23T02:14:07.000Z' }, a.id), {
      action: 'repeated',
      at: '2026-11-23T02:10:00.000Z',
      severity: 'critical',
      message: second.message,
      details: { nested: { b: 2 }, autoClear: false },
    });
    expect(b).toEqual(expected);
    expect(await f.service.get(a.id)).toEqual(expected);
    // Severity only goes up.
    expect((await f.service.raise(trigger({ severity: 'info' })))!.severity).toBe('critical');
  });

  it('auto-clear leaves a cleared-unacknowledged alarm that can still be acknowledged', async () => {
    const a = (await f.service.raise(trigger({ autoClear: true })))!;
    const cleared = (await f.service.resolve('door-armed', 'door-101', '2026-11-23T02:20:00Z'))!;
    expect(cleared).toMatchObject({ id: a.id, state: 'cleared', acknowledged: false, clearedBy: 'rule:door-armed', clearedAt: '2026-11-23T02:20:00.000Z' });
    expect((await f.service.list({ state: 'cleared', limit: 10 })).items[0]).toMatchObject({ id: a.id, acknowledged: false });

    const seen = await f.service.acknowledge(a.id, 'alice');
    expect(seen).toMatchObject({ state: 'cleared', acknowledged: true, acknowledgedBy: 'alice' });
    await expectCode(() => f.service.acknowledge(a.id, 'alice'), 'STW_ERR_ALARM_TRANSITION');
    await expectCode(() => f.service.clear(a.id, 'alice'), 'STW_ERR_ALARM_TRANSITION');
    // Comments are allowed in any state.
    expect((await f.service.comment(a.id, 'alice', 'false alarm: cleaner')).history.at(-1)).toMatchObject({ action: 'commented', by: 'alice', comment: 'false alarm: cleaner' });
  });

  it('resolve leaves alarms of rules without auto-clear, and answers null when nothing is open', async () => {
    const a = (await f.service.raise(trigger({ autoClear: false })))!;
    expect(await f.service.resolve('door-armed', 'door-101', '2026-11-23T02:20:00Z')).toBeNull();
    expect((await f.service.get(a.id))!.state).toBe('active');
    expect(await f.service.resolve('other', 'x', '2026-11-23T02:20:00Z')).toBeNull();
    expect(f.deliveries(a.id)).toHaveLength(1);
  });

  it('refuses unknown alarms and forbidden transitions without writing anything', async () => {
    await expectCode(() => f.service.acknowledge('nope', 'alice'), 'STW_ERR_ALARM_NOT_FOUND');
    const a = (await f.service.raise(trigger()))!;
    await f.service.acknowledge(a.id, 'alice');
    const before = f.deliveries().length;
    await expectCode(() => f.service.acknowledge(a.id, 'bob'), 'STW_ERR_ALARM_TRANSITION');
    expect(f.deliveries()).toHaveLength(before);
    expect((await f.service.get(a.id))!.acknowledgedBy).toBe('alice');
  });

  it('escalates only while active and unacknowledged, with that level in the planner', async () => {
    const a = (await f.service.raise(trigger()))!;
    const e1 = (await f.service.escalate(a.id, 1, '2026-11-23T02:19:07Z'))!;
    expect(e1.escalationLevel).toBe(1);
    expect(f.deliveries(a.id).at(-1)!.route).toBe('level-1');
    expect(await f.service.escalate(a.id, 1, '2026-11-23T02:24:07Z')).toBeNull();
    await f.service.acknowledge(a.id, 'alice');
    expect(await f.service.escalate(a.id, 2, '2026-11-23T02:24:07Z')).toBeNull();
    expect(await f.service.escalate('nope', 1, '2026-11-23T02:24:07Z')).toBeNull();
    expect((await f.service.get(a.id))!.escalationLevel).toBe(1);
  });

  it('attaches snapshots in any state', async () => {
    const a = (await f.service.raise(trigger()))!;
    await f.service.clear(a.id, 'bob');
    const s = (await f.service.attachSnapshot(a.id, { status: 'attached', id: 'f00d', camera: 'cam-101', at: '2026-11-23T02:14:08Z', url: '/api/snapshots/f00d' }, '2026-11-23T02:14:08Z'))!;
    expect(s.snapshot).toMatchObject({ status: 'attached', id: 'f00d' });
    expect(changes.at(-1)!.action).toBe('snapshot');
    expect(await f.service.attachSnapshot('nope', { status: 'none', reason: 'x' }, '2026-11-23T02:14:08Z')).toBeNull();
  });

  it('rolls the alarm change back when the planner throws', async () => {
    f.planner.failNext = new Error('planner broke');
    await expect(f.service.raise(trigger())).rejects.toThrow('planner broke');
    expect(await f.service.open()).toEqual([]);
    expect(f.db.prepare('SELECT count(*) AS n FROM alarm_history').get()).toEqual({ n: 0 });
    expect(f.deliveries()).toEqual([]);
    expect(changes).toEqual([]);
    expect(f.published).toEqual([]);

    const a = (await f.service.raise(trigger()))!;
    f.planner.failNext = new Error('planner broke again');
    await expect(f.service.acknowledge(a.id, 'alice')).rejects.toThrow('planner broke again');
    const after = (await f.service.get(a.id))!;
    expect(after).toMatchObject({ state: 'active', acknowledged: false, acknowledgedBy: null });
    expect(after.history.map((h) => h.action)).toEqual(['raised']);
    expect(f.deliveries(a.id)).toHaveLength(1);

    // A repeat rolled back leaves the count as it was.
    f.planner.failNext = new Error('again');
    await expect(f.service.raise(trigger())).rejects.toThrow('again');
    expect((await f.service.get(a.id))!.count).toBe(1);
  });

  it('suppresses triggers from devices or zones under maintenance, and counts them', async () => {
    f.maintenance.devices.add('demo-hotel/door-101');
    expect(await f.service.raise(trigger())).toBeNull();
    f.maintenance.devices.clear();
    f.maintenance.zones.add('demo-hotel/room-101');
    expect(await f.service.raise(trigger({ device: 'door-other', source: 'door-other' }))).toBeNull();
    // Another zone is not affected.
    expect(await f.service.raise(trigger({ zone: 'room-102', device: 'door-102', source: 'door-102' }))).not.toBeNull();

    expect(await f.service.open()).toHaveLength(1);
    expect(f.deliveries()).toHaveLength(1);
    const text = await f.metrics.registry.metrics();
    expect(text).toContain('storetwin_alarms_suppressed_total{rule="door-armed"} 2');
    expect(text).toContain('storetwin_alarms_total{severity="major",action="raised"} 1');
  });

  it('records a suppressed critical alarm as an info alarm that repeats fold into, in the same transaction as its delivery', async () => {
    f.maintenance.zones.add('demo-hotel/room-101');
    const critical = trigger({ severity: 'critical', autoClear: true });
    expect(await f.service.raise(critical)).toBeNull();

    const [record] = await f.service.open();
    expect(record).toMatchObject({
      site: 'demo-hotel',
      zone: 'room-101',
      device: 'door-101',
      rule: SUPPRESSED_RULE,
      source: 'door-101',
      severity: 'info',
      state: 'active',
      count: 1,
      message: {
        // 06:00Z is 14:00 in Shanghai.
        en: 'Critical alarm suppressed by maintenance: Door opened in armed room 101 (window by tech until 2026-11-23 14:00)',
        'zh-CN': '紧急告警被维护屏蔽：布防房间101门被打开（维护窗口：tech，至 2026-11-23 14:00）',
      },
      details: {
        autoClear: false,
        suppressed: { rule: 'door-armed', severity: 'critical', at: '2026-11-23T02:14:07.000Z' },
        maintenance: { id: 7, by: 'tech', until: '2026-11-23T06:00:00.000Z', zone: 'room-101' },
      },
    });
    expect(changes.map((c) => [c.alarm.rule, c.action])).toEqual([[SUPPRESSED_RULE, 'raised']]);
    expect(f.deliveries(record!.id)).toHaveLength(1);

    expect(await f.service.raise({ ...critical, at: '2026-11-23T02:20:00Z' })).toBeNull();
    expect(await f.service.open()).toEqual([expect.objectContaining({ id: record!.id, count: 2, lastAt: '2026-11-23T02:20:00.000Z' })]);
    expect(changes.at(-1)).toMatchObject({ action: 'repeated' });

    // The record is written like any alarm change: a failing planner rolls it back.
    f.planner.failNext = new Error('outbox down');
    await expect(f.service.raise({ ...critical, at: '2026-11-23T02:30:00Z' })).rejects.toThrow('outbox down');
    expect((await f.service.get(record!.id))!.count).toBe(2);

    // Below critical, the counter and the log line are the record: maintenance is for that.
    expect(await f.service.raise(trigger({ severity: 'major', rule: 'door-silent' }))).toBeNull();
    expect(await f.service.open()).toHaveLength(1);
    const text = await f.metrics.registry.metrics();
    expect(text).toContain('storetwin_alarms_suppressed_total{rule="door-armed"} 3');
    expect(text).toContain('storetwin_alarms_suppressed_total{rule="door-silent"} 1');
    expect(text).toContain('storetwin_alarms_total{severity="info",action="raised"} 1');
    expect(text).not.toContain('storetwin_alarms_total{severity="critical"');
  });

  it('50 concurrent triggers for one (rule, source) from interleaved async tasks → one open alarm, count 50', async () => {
    // Two connections to the same file, as a second worker or the CLI would have.
    const other = f.secondService();
    const tasks = Array.from({ length: 50 }, async (_, i) => {
      // Each task yields a different number of times, so their raises interleave.
      for (let k = 0; k < i % 7; k++) await Promise.resolve();
      await new Promise((r) => setImmediate(r));
      const svc = i % 2 === 0 ? f.service : other;
      return svc.raise(trigger({ at: new Date(Date.parse('2026-11-23T02:14:07Z') + i * 1000).toISOString() }));
    });
    const results = await Promise.all(tasks);
    const open = await f.service.open();
    expect(open).toHaveLength(1);
    expect(open[0]!.count).toBe(50);
    expect(open[0]!.lastAt).toBe('2026-11-23T02:14:56.000Z');
    expect(new Set(results.map((r) => r!.id))).toEqual(new Set([open[0]!.id]));
    expect(results.filter((r) => r!.count === 1)).toHaveLength(1);
    expect(f.db.prepare('SELECT count(*) AS n FROM alarms').get()).toEqual({ n: 1 });
    expect(changes.filter((c) => c.action === 'raised')).toHaveLength(1);
    expect(changes.filter((c) => c.action === 'repeated')).toHaveLength(49);
    expect(f.deliveries()).toHaveLength(50);
  });

  it('50 concurrent triggers through the bus → one open alarm, count 50; resolved through the bus', async () => {
    const stop = f.service.attachToBus();
    await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        for (let k = 0; k < (i * 3) % 5; k++) await Promise.resolve();
        f.bus.emit('rule.triggered', trigger({ autoClear: true }));
      }),
    );
    // The bus path commits what one turn queued when the emitting code returns (a microtask);
    // flushPending() resolves once that batch is committed.
    await f.service.flushPending();
    const open = await f.service.open('demo-hotel');
    expect(open).toHaveLength(1);
    expect(open[0]!.count).toBe(50);

    f.bus.emit('rule.resolved', { site: 'demo-hotel', rule: 'door-armed', source: 'door-101', at: '2026-11-23T02:30:00Z' });
    await f.service.flushPending();
    // Cleared but nobody acknowledged it: still listed, until someone does.
    expect((await f.service.open()).map((a) => [a.id, a.state, a.acknowledged])).toEqual([[open[0]!.id, 'cleared', false]]);

    stop();
    f.bus.emit('rule.triggered', trigger());
    await f.service.flushPending();
    expect((await f.service.get(open[0]!.id))!.count).toBe(50);
  });

  it('triggers of one turn on the bus commit together: one alarm, every repeat counted, one announcement of the latest count', async () => {
    const stop = f.service.attachToBus();
    // What the rules engine emits while it works through one stored batch of a flapping door.
    for (let i = 0; i < 200; i++) f.bus.emit('rule.triggered', trigger({ at: new Date(Date.parse('2026-11-23T02:14:07Z') + i * 10).toISOString() }));
    f.bus.emit('rule.triggered', trigger({ rule: 'door-tamper', severity: 'major' }));
    expect(await f.service.open()).toEqual([]);
    await f.service.flushPending();
    const open = await f.service.open();
    expect(open.map((a) => [a.rule, a.count]).sort()).toEqual([
      ['door-armed', 200],
      ['door-tamper', 1],
    ]);
    // Raised, then the last of the 199 repeats: one push carries the latest count.
    expect(changes.map((c) => [c.alarm.rule, c.action, c.alarm.count])).toEqual([
      ['door-armed', 'raised', 1],
      ['door-armed', 'repeated', 200],
      ['door-tamper', 'raised', 1],
    ]);
    // Every change is planned in the batch (this fixture's planner plans one delivery each).
    expect(f.deliveries()).toHaveLength(201);
    const text = await f.metrics.registry.metrics();
    expect(text).toContain('storetwin_alarms_total{severity="major",action="repeated"} 199');
    stop();
  });

  it('a batch on the bus ends where the same triggers and resolutions one by one end', async () => {
    // A latched door alarm: raised, repeated, restored, raised again, repeated, restored — and an
    // auto-clearing one cleared and re-opened — all within one turn.
    const t = (rule: string, i: number, over: Partial<AlarmTrigger> = {}) =>
      trigger({ rule, at: new Date(Date.parse('2026-11-23T02:14:07Z') + i * 1000).toISOString(), ...over });
    const r = (rule: string, i: number) => ({ site: 'demo-hotel', rule, source: 'door-101', at: new Date(Date.parse('2026-11-23T02:14:07Z') + i * 1000).toISOString() });
    const script: Array<['t', AlarmTrigger] | ['r', ReturnType<typeof r>]> = [
      ['t', t('door-armed', 0, { latch: true, severity: 'major' })],
      ['t', t('door-armed', 1, { latch: true, severity: 'critical' })],
      ['r', r('door-armed', 2)],
      ['t', t('door-held', 3, { autoClear: true })],
      ['t', t('door-armed', 4, { latch: true })],
      ['r', r('door-held', 5)],
      ['t', t('door-armed', 6, { latch: true })],
      ['t', t('door-held', 7, { autoClear: true })],
      ['r', r('door-armed', 8)],
    ];
    const stop = f.service.attachToBus();
    for (const [kind, x] of script) {
      if (kind === 't') f.bus.emit('rule.triggered', x);
      else f.bus.emit('rule.resolved', x);
    }
    await f.service.flushPending();
    stop();

    const g = createAlarmFixture();
    try {
      for (const [kind, x] of script) {
        if (kind === 't') await g.service.raise(x);
        else await g.service.resolve(x.rule, x.source, x.at);
      }
      const shape = (a: Alarm) => ({ ...a, id: '', history: a.history.map((h) => [h.action, h.at, h.detail]) });
      const batched = await Promise.all((await f.service.open()).map(async (a) => shape((await f.service.get(a.id))!)));
      const sequential = await Promise.all((await g.service.open()).map(async (a) => shape((await g.service.get(a.id))!)));
      expect(batched).toEqual(sequential);
      expect(batched.map((a) => [a.rule, a.count, a.state, a.severity])).toEqual([
        ['door-armed', 4, 'active', 'critical'],
        ['door-held', 2, 'active', 'major'],
      ]);
    } finally {
      g.close();
    }
  });

  it('one failing change on the bus rolls back alone; the others of its batch commit', async () => {
    const stop = f.service.attachToBus();
    f.bus.emit('rule.triggered', trigger({ source: 'door-1', device: 'door-1' }));
    f.bus.emit('rule.triggered', trigger({ source: 'door-2', device: 'door-2' }));
    f.planner.failNext = new Error('boom');
    // failNext fails the next plan: the first of the queue.
    await f.service.flushPending();
    expect((await f.service.open()).map((a) => a.source)).toEqual(['door-2']);
    stop();
  });

  it('a failing trigger on the bus is logged, not thrown into the emitter', async () => {
    const stop = f.service.attachToBus();
    f.planner.failNext = new Error('boom');
    expect(() => f.bus.emit('rule.triggered', trigger())).not.toThrow();
    await f.service.flushPending();
    expect(await f.service.open()).toEqual([]);
    stop();
  });

  it('a failing MQTT publisher does not undo or fail a committed change', async () => {
    const g = createAlarmFixture({
      publish: () => {
        throw new Error('broker down');
      },
    });
    try {
      const a = (await g.service.raise(trigger()))!;
      expect(await g.service.get(a.id)).not.toBeNull();
      expect(g.deliveries(a.id)).toHaveLength(1);
    } finally {
      g.close();
    }
  });

  it('lists with filters and keyset pages, newest activity first', async () => {
    const base = Date.parse('2026-11-23T00:00:00Z');
    for (let i = 0; i < 25; i++) {
      (await f.service.raise(
        trigger({
          site: i % 2 === 0 ? 'demo-hotel' : 'demo-shop',
          source: `dev-${i}`,
          rule: i % 3 === 0 ? 'tamper' : 'door-armed',
          severity: i % 5 === 0 ? 'critical' : 'minor',
          at: new Date(base + i * 60_000).toISOString(),
        }),
      ));
    }
    const all = (await f.service.list({ limit: 1000 })).items;
    expect(all).toHaveLength(25);
    expect(all.map((a) => a.source)).toEqual(Array.from({ length: 25 }, (_, i) => `dev-${24 - i}`));

    const seen: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await f.service.list({ limit: 7, cursor });
      seen.push(...page.items.map((a) => a.source));
      if (page.nextCursor === null) break;
      cursor = page.nextCursor;
    }
    expect(seen).toEqual(all.map((a) => a.source));

    expect((await f.service.list({ site: 'demo-shop', limit: 100 })).items).toHaveLength(12);
    expect((await f.service.list({ sites: ['demo-shop'], limit: 100 })).items.every((a) => a.site === 'demo-shop')).toBe(true);
    expect((await f.service.list({ sites: [], limit: 100 })).items).toEqual([]);
    expect((await f.service.list({ rule: 'tamper', limit: 100 })).items).toHaveLength(9);
    expect((await f.service.list({ severity: 'critical', limit: 100 })).items).toHaveLength(5);
    const window = (await f.service.list({ from: new Date(base + 10 * 60_000).toISOString(), to: new Date(base + 20 * 60_000).toISOString(), limit: 100 })).items;
    expect(window.map((a) => a.source)).toEqual(Array.from({ length: 10 }, (_, i) => `dev-${19 - i}`));

    const [x, y] = all;
    await f.service.acknowledge(x!.id, 'op');
    await f.service.clear(y!.id, 'op');
    expect((await f.service.list({ state: 'acknowledged', limit: 100 })).items.map((a) => a.id)).toEqual([x!.id]);
    expect((await f.service.list({ state: 'cleared', limit: 100 })).items.map((a) => a.id)).toEqual([y!.id]);
    expect((await f.service.list({ state: 'active', limit: 100 })).items).toHaveLength(23);
    // Everything not closed out: the cleared alarm was never acknowledged, so it still counts.
    expect((await f.service.list({ state: 'open', limit: 100 })).items).toHaveLength(25);
    await f.service.acknowledge(y!.id, 'op');
    expect((await f.service.list({ state: 'open', limit: 100 })).items).toHaveLength(24);
    await expectCode(() => f.service.list({ limit: 10, cursor: 'not a cursor' }), 'STW_ERR_VALIDATION');
  });
});
