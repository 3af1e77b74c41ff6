import { describe, expect, it } from 'vitest';
import { StoreTwinError } from '../../server/errors.ts';
import {
  PHASES,
  TRANSITIONS,
  apply,
  canTransition,
  maxSeverity,
  mergePatch,
  phaseOf,
  raise,
  stateOf,
  transition,
  type AlarmCommand,
  type AlarmPhase,
} from '../../server/alarms/state-machine.ts';
import type { Alarm } from '../../server/alarms/types.ts';
import { trigger } from './fixture.ts';

const T0 = '2026-11-23T02:14:07.000Z';
const T1 = '2026-11-23T02:15:00.000Z';
const T2 = '2026-11-23T02:16:00.000Z';

function fresh(): Alarm {
  return raise(trigger({ at: T0 }), 'a1');
}

/** An alarm in each phase, reached through the machine itself. */
function inPhase(phase: AlarmPhase): Alarm {
  const a = fresh();
  switch (phase) {
    case 'active':
      return a;
    case 'acknowledged':
      return apply(a, { action: 'acknowledged', at: T1, by: 'op' });
    case 'cleared-unacknowledged':
      return apply(a, { action: 'cleared', at: T1, by: 'rule:door-armed' });
    case 'cleared':
      return apply(apply(a, { action: 'acknowledged', at: T1, by: 'op' }), { action: 'cleared', at: T2, by: 'op' });
  }
}

function command(action: AlarmCommand['action']): AlarmCommand {
  switch (action) {
    case 'repeated':
      return { action, at: T2, severity: 'major', message: { en: 'again', 'zh-CN': '再次' } };
    case 'acknowledged':
    case 'cleared':
      return { action, at: T2, by: 'op' };
    case 'restored':
      return { action, at: T2, by: 'rule:door-armed' };
    case 'commented':
      return { action, at: T2, by: 'op', comment: 'checked' };
    case 'escalated':
      return { action, at: T2, level: 1 };
    case 'snapshot':
      return { action, at: T2, snapshot: { status: 'none', reason: 'no camera watches this zone' } };
  }
}

describe('alarm state machine', () => {
  it('raises an active, unacknowledged alarm with count 1 and a raised entry', () => {
    const a = fresh();
    expect(a).toMatchObject({ state: 'active', acknowledged: false, count: 1, firstAt: T0, lastAt: T0, escalationLevel: 0, snapshot: null });
    expect(a.details).toEqual({ autoClear: false });
    expect(a.history).toEqual([{ at: T0, by: 'rule:door-armed', action: 'raised', detail: { severity: 'major' } }]);
  });

  it('derives the public state from (open, acknowledged)', () => {
    expect(stateOf(true, false)).toBe('active');
    expect(stateOf(true, true)).toBe('acknowledged');
    expect(stateOf(false, false)).toBe('cleared');
    expect(stateOf(false, true)).toBe('cleared');
    for (const phase of PHASES) expect(phaseOf(inPhase(phase))).toBe(phase);
  });

  it('allows exactly the transitions in the table, and refuses the rest with STW_ERR_ALARM_TRANSITION', () => {
    const table: Record<AlarmCommand['action'], AlarmPhase[]> = {
      repeated: ['active', 'acknowledged', 'cleared-unacknowledged'],
      restored: ['active', 'acknowledged'],
      acknowledged: ['active', 'cleared-unacknowledged'],
      cleared: ['active', 'acknowledged'],
      commented: ['active', 'acknowledged', 'cleared-unacknowledged', 'cleared'],
      escalated: ['active'],
      snapshot: ['active', 'acknowledged', 'cleared-unacknowledged', 'cleared'],
    };
    for (const [action, allowed] of Object.entries(table) as Array<[AlarmCommand['action'], AlarmPhase[]]>) {
      expect([...TRANSITIONS[action]].sort()).toEqual([...allowed].sort());
      for (const phase of PHASES) {
        const alarm = inPhase(phase);
        const result = transition(alarm, command(action));
        expect(canTransition(alarm, action)).toBe(allowed.includes(phase));
        if (allowed.includes(phase)) {
          expect(result).not.toBeInstanceOf(StoreTwinError);
        } else {
          expect(result).toBeInstanceOf(StoreTwinError);
          const err = result as StoreTwinError;
          expect(err.code).toBe('STW_ERR_ALARM_TRANSITION');
          expect(err.status).toBe(409);
          expect(err.detail).toEqual({ alarm: 'a1', from: phase, action });
        }
      }
    }
  });

  it('is pure: the input alarm is never changed', () => {
    const a = fresh();
    const copy = structuredClone(a);
    apply(a, { action: 'acknowledged', at: T1, by: 'op', comment: 'on my way' });
    apply(a, { action: 'repeated', at: T1, severity: 'critical', message: a.message });
    expect(a).toEqual(copy);
  });

  it('acknowledge then clear records who and when, and keeps the acknowledged flag', () => {
    const acked = apply(fresh(), { action: 'acknowledged', at: T1, by: 'alice', comment: 'on my way' });
    expect(acked).toMatchObject({ state: 'acknowledged', acknowledged: true, acknowledgedAt: T1, acknowledgedBy: 'alice' });
    const cleared = apply(acked, { action: 'cleared', at: T2, by: 'bob' });
    expect(cleared).toMatchObject({ state: 'cleared', acknowledged: true, clearedAt: T2, clearedBy: 'bob' });
    expect(cleared.history.map((h) => [h.action, h.by, h.at, h.comment])).toEqual([
      ['raised', 'rule:door-armed', T0, undefined],
      ['acknowledged', 'alice', T1, 'on my way'],
      ['cleared', 'bob', T2, undefined],
    ]);
  });

  it('cleared-unacknowledged can be acknowledged afterwards, once', () => {
    const cleared = apply(fresh(), { action: 'cleared', at: T1, by: 'rule:door-armed' });
    expect(cleared).toMatchObject({ state: 'cleared', acknowledged: false });
    const seen = apply(cleared, { action: 'acknowledged', at: T2, by: 'alice' });
    expect(seen).toMatchObject({ state: 'cleared', acknowledged: true, acknowledgedBy: 'alice', clearedBy: 'rule:door-armed' });
    expect(transition(seen, { action: 'acknowledged', at: T2, by: 'alice' })).toBeInstanceOf(StoreTwinError);
  });

  it('repeat counts, never moves lastAt back, raises severity only, merges details', () => {
    const a = raise(trigger({ at: T1, severity: 'minor', details: { opened: 1, nested: { a: 1 } } }), 'a1');
    const late = apply(a, { action: 'repeated', at: T0, severity: 'info', message: a.message, details: { opened: 2, nested: { b: 2 } } });
    expect(late).toMatchObject({ count: 2, lastAt: T1, severity: 'minor', details: { opened: 2, nested: { a: 1, b: 2 }, autoClear: false } });
    // No severity change: counted, not logged.
    expect(late.history).toHaveLength(1);
    const worse = apply(late, { action: 'repeated', at: T2, severity: 'critical', message: { en: 'worse', 'zh-CN': '更糟' } });
    expect(worse).toMatchObject({ count: 3, lastAt: T2, severity: 'critical', message: { en: 'worse' } });
    expect(worse.history.at(-1)).toEqual({ at: T2, by: 'system', action: 'repeated', detail: { severity: 'critical', from: 'minor', count: 3 } });
  });

  it('escalation only goes up, and only while active', () => {
    const one = apply(fresh(), { action: 'escalated', at: T1, level: 1 });
    expect(one.escalationLevel).toBe(1);
    expect(one.history.at(-1)).toMatchObject({ action: 'escalated', by: 'system', detail: { level: 1 } });
    expect(transition(one, { action: 'escalated', at: T2, level: 1 })).toBeInstanceOf(StoreTwinError);
    expect(apply(one, { action: 'escalated', at: T2, level: 2 }).escalationLevel).toBe(2);
    const acked = apply(one, { action: 'acknowledged', at: T2, by: 'op' });
    expect(transition(acked, { action: 'escalated', at: T2, level: 2 })).toBeInstanceOf(StoreTwinError);
  });

  it('comments and snapshots work in every phase', () => {
    for (const phase of PHASES) {
      const a = apply(inPhase(phase), { action: 'commented', at: T2, by: 'op', comment: 'x' });
      expect(phaseOf(a)).toBe(phase);
      const s = apply(a, { action: 'snapshot', at: T2, snapshot: { status: 'attached', id: 'abc', camera: 'cam-1', at: T2, url: '/api/snapshots/abc' } });
      expect(s.snapshot).toMatchObject({ status: 'attached', id: 'abc' });
      expect(s.history.at(-1)).toEqual({ at: T2, by: 'system', action: 'snapshot', detail: { status: 'attached', camera: 'cam-1', id: 'abc' } });
    }
  });

  it('helpers: severity order and RFC 7396 merge', () => {
    expect(maxSeverity('minor', 'critical')).toBe('critical');
    expect(maxSeverity('major', 'info')).toBe('major');
    expect(mergePatch({ a: 1, b: { c: 1, d: 2 }, e: [1] }, { a: null, b: { d: 3 }, e: [2], f: 'x' })).toEqual({ b: { c: 1, d: 3 }, e: [2], f: 'x' });
  });
});
