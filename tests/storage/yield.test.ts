/**
 * Slices and turns (server/storage/yield.ts), asserted by order, not by time: a slice that is
 * not due does not yield; a due one lets timers and check-phase callbacks run; several long
 * reads get one slice per turn of the event loop between them, round-robin.
 */
import { describe, expect, it } from 'vitest';
import { EventLoopSlicer, SliceQueue } from '../../server/storage/yield.ts';

describe('EventLoopSlicer', () => {
  it('does not yield before its budget is spent', async () => {
    const slicer = new EventLoopSlicer(60_000, new SliceQueue());
    let ran = false;
    setImmediate(() => (ran = true));
    for (let i = 0; i < 100; i++) await slicer.pause();
    expect(ran).toBe(false);
    expect(slicer.stats().slices).toBe(1);
  });

  it('lets timers and I/O callbacks run when it yields', async () => {
    const slicer = new EventLoopSlicer(0, new SliceQueue());
    const log: string[] = [];
    setTimeout(() => log.push('timer'), 0);
    setImmediate(() => log.push('immediate'));
    log.push('slice');
    await slicer.pause();
    await slicer.pause();
    log.push('slice');
    expect(log[0]).toBe('slice');
    expect(log.at(-1)).toBe('slice');
    expect(log).toContain('immediate');
    expect(slicer.stats().slices).toBe(3);
  });
});

describe('SliceQueue', () => {
  it('lets one slice go per turn of the event loop, round-robin among the long reads', async () => {
    const turns = new SliceQueue();
    const log: string[] = [];
    // A callback that runs once per turn (check phase), like a socket read once per poll.
    let ticking = true;
    const tick = () => {
      log.push('|');
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const read = async (name: string) => {
      const slicer = new EventLoopSlicer(0, turns);
      for (let i = 0; i < 5; i++) {
        await slicer.yield();
        log.push(name);
      }
    };
    await Promise.all([read('a'), read('b'), read('c')]);
    ticking = false;
    const slices = log.join('').split('|').filter((turn) => turn.length > 0);
    // Never two slices in one turn, whoever they belong to.
    expect(slices.every((turn) => turn.length === 1)).toBe(true);
    expect(slices.join('')).toBe('abc'.repeat(5));
    expect(turns.size).toBe(0);
  });
});
