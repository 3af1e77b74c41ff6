import { describe, expect, it } from 'vitest';
import { GroupCommitter } from '../../server/ingest/group-commit.ts';

describe('GroupCommitter', () => {
  it('writes items added together in one batch and resolves every caller after the write', async () => {
    const batches: number[][] = [];
    let written = 0;
    const gc = new GroupCommitter<number>({
      maxItems: 1000,
      delayMs: 0,
      write: async (batch) => {
        await new Promise((r) => setTimeout(r, 5));
        batches.push(batch);
        written += batch.length;
      },
    });
    const seenAtResolve: number[] = [];
    await Promise.all(Array.from({ length: 50 }, (_, i) => gc.add(i).then(() => seenAtResolve.push(written))));
    expect(batches).toHaveLength(1);
    expect(batches[0]).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(seenAtResolve.every((n) => n === 50)).toBe(true);
  });

  it('batches what arrives during a write into the next write, capped at maxItems', async () => {
    const batches: number[] = [];
    const gc = new GroupCommitter<number>({
      maxItems: 10,
      delayMs: 0,
      write: async (batch) => {
        batches.push(batch.length);
        await new Promise((r) => setTimeout(r, 2));
      },
    });
    await Promise.all(Array.from({ length: 35 }, (_, i) => gc.add(i)));
    expect(batches.reduce((a, b) => a + b, 0)).toBe(35);
    expect(Math.max(...batches)).toBeLessThanOrEqual(10);
  });

  it('a caller whose items straddle two batches resolves only when both are written', async () => {
    const order: string[] = [];
    const gc = new GroupCommitter<number>({
      maxItems: 3,
      delayMs: 0,
      write: async (batch) => {
        order.push(`write ${batch.join(',')}`);
      },
    });
    await gc.addMany([1, 2, 3, 4, 5]).then(() => order.push('resolved'));
    expect(order).toEqual(['write 1,2,3', 'write 4,5', 'resolved']);
  });

  it('rejects the callers of a failed batch and keeps serving later ones', async () => {
    let fail = true;
    const gc = new GroupCommitter<number>({
      maxItems: 100,
      delayMs: 0,
      write: async () => {
        if (fail) throw new Error('disk full');
      },
    });
    await expect(gc.add(1)).rejects.toThrow('disk full');
    fail = false;
    await expect(gc.add(2)).resolves.toBeUndefined();
  });
});
