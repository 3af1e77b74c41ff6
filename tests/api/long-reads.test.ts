/**
 * The long-read gate on its own, on a hand-driven clock: one read per server and per user,
 * slots freed on release, and a Retry-After taken from the running read's pace and bound.
 */
import { describe, expect, it } from 'vitest';
import { LongReadGate, type Admission } from '../../server/api/long-reads.ts';

function gate(opts: { perServer?: number; perUser?: number; maxMs?: number } = {}) {
  const clock = { now: 0 };
  const g = new LongReadGate({ perServer: opts.perServer ?? 1, perUser: opts.perUser ?? 1, maxMs: opts.maxMs ?? 120_000, now: () => clock.now });
  return { g, clock };
}

function admitted(a: Admission) {
  if (!a.ok) throw new Error(`refused: ${a.limit}, retry after ${a.retryAfterS} s`);
  return a.ticket;
}

describe('LongReadGate', () => {
  it('lets one read run per server: another user is refused until it is released', () => {
    const { g } = gate();
    const first = admitted(g.tryEnter('1'));
    expect(g.tryEnter('2')).toMatchObject({ ok: false, limit: 'server' });
    expect(g.size).toBe(1);
    first.release();
    first.release(); // twice is harmless
    expect(g.size).toBe(0);
    admitted(g.tryEnter('2'));
  });

  it('lets one read run per user even when the server allows more', () => {
    const { g } = gate({ perServer: 3, perUser: 1 });
    admitted(g.tryEnter('1'));
    expect(g.tryEnter('1')).toMatchObject({ ok: false, limit: 'user' });
    admitted(g.tryEnter('2'));
    admitted(g.tryEnter('3'));
    expect(g.tryEnter('4')).toMatchObject({ ok: false, limit: 'server' });
  });

  it('estimates Retry-After from the bound before any progress, then from the pace', () => {
    const { g, clock } = gate({ maxMs: 120_000 });
    const running = admitted(g.tryEnter('1'));
    clock.now = 10_000;
    // No progress reported yet: the read may take until its time bound.
    expect(g.tryEnter('2')).toMatchObject({ ok: false, retryAfterS: 110 });
    // A quarter done in 10 s: about 30 s to go.
    running.progress(0.25);
    expect(g.tryEnter('2')).toMatchObject({ ok: false, retryAfterS: 30 });
    // A slow pace is capped by the bound: the read is stopped at 120 s whatever its pace.
    running.progress(0.01);
    expect(g.tryEnter('2')).toMatchObject({ ok: false, retryAfterS: 110 });
    // Never less than a second, even at the very end.
    running.progress(1);
    expect(g.tryEnter('2')).toMatchObject({ ok: false, retryAfterS: 1 });
    running.progress(Number.NaN); // ignored
    expect(g.tryEnter('2')).toMatchObject({ ok: false, retryAfterS: 1 });
  });

  it('waits for the soonest of the reads holding the slots', () => {
    const { g, clock } = gate({ perServer: 2, perUser: 2, maxMs: 100_000 });
    const a = admitted(g.tryEnter('1'));
    clock.now = 20_000;
    const b = admitted(g.tryEnter('2'));
    clock.now = 40_000;
    a.progress(0.5); // 40 s for half: 40 s to go
    b.progress(0.8); // 20 s for 80 %: 5 s to go
    expect(g.tryEnter('3')).toMatchObject({ ok: false, limit: 'server', retryAfterS: 5 });
  });
});
