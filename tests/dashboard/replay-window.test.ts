/** Replay windows on the site's clock (dashboard/src/replay-window.ts), in Node: presets, custom from/to, DST days. */
import { describe, expect, it } from 'vitest';
import { customWindow, localInputValue, MAX_REPLAY_MS, parseLocalInput, presetWindow } from '../../dashboard/src/replay-window.ts';

const H = 3_600_000;

describe('replay window presets', () => {
  it('today and yesterday are the local days of the site, not of UTC', () => {
    // 2026-11-30 01:30 in Shanghai is still 2026-11-29 in UTC.
    const now = Date.parse('2026-11-29T17:30:00Z');
    expect(presetWindow('today', now, 'Asia/Shanghai')).toEqual({ from: Date.parse('2026-11-29T16:00:00Z'), to: now });
    expect(presetWindow('yesterday', now, 'Asia/Shanghai')).toEqual({ from: Date.parse('2026-11-28T16:00:00Z'), to: Date.parse('2026-11-29T16:00:00Z') });
    // The same instant in New York is the afternoon of the 29th.
    expect(presetWindow('today', now, 'America/New_York').from).toBe(Date.parse('2026-11-29T05:00:00Z'));
  });

  it('the last hour and the last 24 h end now', () => {
    const now = Date.parse('2026-11-29T17:30:00Z');
    expect(presetWindow('hour', now, 'Asia/Shanghai')).toEqual({ from: now - H, to: now });
    expect(presetWindow('day', now, 'Asia/Shanghai')).toEqual({ from: now - 24 * H, to: now });
  });

  it('yesterday across a spring-forward day in Berlin is 23 h long, across a fall-back day 25 h', () => {
    // Clocks went 02:00 → 03:00 on Sunday 2026-03-29 in Berlin.
    const spring = presetWindow('yesterday', Date.parse('2026-03-30T10:00:00Z'), 'Europe/Berlin');
    expect(spring).toEqual({ from: Date.parse('2026-03-28T23:00:00Z'), to: Date.parse('2026-03-29T22:00:00Z') });
    expect(spring.to - spring.from).toBe(23 * H);
    // And back 03:00 → 02:00 on Sunday 2026-10-25.
    const autumn = presetWindow('yesterday', Date.parse('2026-10-26T10:00:00Z'), 'Europe/Berlin');
    expect(autumn.to - autumn.from).toBe(25 * H);
    expect(autumn.from).toBe(Date.parse('2026-10-24T22:00:00Z'));
    // "Today" shortly after the spring jump starts at local midnight, which was still CET (+01:00).
    expect(presetWindow('today', Date.parse('2026-03-29T01:30:00Z'), 'Europe/Berlin').from).toBe(Date.parse('2026-03-28T23:00:00Z'));
  });
});

describe('custom windows', () => {
  const now = Date.parse('2026-11-30T06:00:00Z');
  it('reads datetime-local values as the site’s wall time', () => {
    expect(parseLocalInput('2026-11-29T14:00', 'Asia/Shanghai')).toBe(Date.parse('2026-11-29T06:00:00Z'));
    expect(parseLocalInput('2026-07-01T09:30', 'Europe/Berlin')).toBe(Date.parse('2026-07-01T07:30:00Z'));
    expect(localInputValue(Date.parse('2026-11-29T06:00:00Z'), 'Asia/Shanghai')).toBe('2026-11-29T14:00');
    expect(parseLocalInput('yesterday', 'Asia/Shanghai')).toBeNull();
    expect(parseLocalInput('2026-13-01T00:00', 'Asia/Shanghai')).toBeNull();
  });

  it('round-trips through the input on a DST day', () => {
    const t = Date.parse('2026-03-29T01:15:00Z'); // 03:15 CEST, just after the jump
    expect(localInputValue(t, 'Europe/Berlin')).toBe('2026-03-29T03:15');
    expect(parseLocalInput('2026-03-29T03:15', 'Europe/Berlin')).toBe(t);
  });

  it('refuses a reversed, empty or too long window and ends a future one now', () => {
    expect(customWindow('2026-11-29T14:00', '2026-11-29T13:00', now, 'Asia/Shanghai')).toEqual({ problem: 'order' });
    expect(customWindow('', '2026-11-29T13:00', now, 'Asia/Shanghai')).toEqual({ problem: 'invalid' });
    expect(customWindow('2026-11-20T00:00', '2026-11-29T00:00', now, 'Asia/Shanghai')).toEqual({ problem: 'tooLong' });
    expect(customWindow('2026-11-30T08:00', '2026-12-01T08:00', now, 'Asia/Shanghai')).toEqual({ from: Date.parse('2026-11-30T00:00:00Z'), to: now });
    const week = customWindow('2026-11-23T14:00', '2026-11-30T14:00', now, 'Asia/Shanghai');
    expect(week).toEqual({ from: Date.parse('2026-11-23T06:00:00Z'), to: now });
    expect('from' in week && week.to - week.from <= MAX_REPLAY_MS).toBe(true);
  });
});
