/**
 * What every Outbox must do (server/notify/outbox-store.ts), run against SQLite and PostgreSQL:
 * due rows are claimed in (next_attempt_at, id) order and leased, outcomes only change pending
 * rows, a dead delivery can be revived, pages go newest first by id — and two workers claiming
 * at the same time never get the same delivery.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Outbox } from '../../server/notify/outbox-store.ts';
import type { NewDelivery } from '../../server/notify/types.ts';

export interface OutboxUnderTest {
  outbox: Outbox;
  /** The same database through another connection (SQLite) or pool (PostgreSQL): a second worker. */
  second(): Promise<Outbox>;
  cleanup(): Promise<void>;
}

const T0 = Date.parse('2026-11-23T02:00:00.000Z');

function d(key: string, over: Partial<NewDelivery> = {}): NewDelivery {
  return { idempotencyKey: key, alarm: 'a-1', site: 'demo-hotel', channel: 'webhook', route: 'desk', payload: { event: 'raised', 文字: '门' }, nextAttemptAt: T0, ...over };
}

export function outboxStoreContract(name: string, make: (now: () => number) => Promise<OutboxUnderTest>): void {
  describe(`Outbox contract (${name})`, () => {
    let t: OutboxUnderTest;
    let outbox: Outbox;
    let now = T0;
    beforeEach(async () => {
      now = T0;
      t = await make(() => now);
      outbox = t.outbox;
    });
    afterEach(async () => {
      await t.cleanup();
    });

    it('inserts once per key and pages newest first by id, with filters', async () => {
      await outbox.insert([d('k1'), d('k2', { alarm: 'a-2', site: 'demo-shop', route: 'mail', channel: 'email' }), d('k3')]);
      await outbox.insert([d('k1', { route: 'other' })]);
      const all = await outbox.list({ limit: 10 });
      expect(all.items.map((r) => r.idempotencyKey)).toEqual(['k3', 'k2', 'k1']);
      expect(all.nextCursor).toBeNull();
      expect(all.items[2]).toEqual({
        id: all.items[2]!.id,
        idempotencyKey: 'k1',
        alarm: 'a-1',
        site: 'demo-hotel',
        channel: 'webhook',
        route: 'desk',
        payload: { event: 'raised', 文字: '门' },
        state: 'pending',
        attempts: 0,
        nextAttemptAt: T0,
        lastError: null,
        createdAt: T0,
        deliveredAt: null,
      });
      const first = await outbox.list({ limit: 2 });
      expect(first.items.map((r) => r.idempotencyKey)).toEqual(['k3', 'k2']);
      const second = await outbox.list({ limit: 2, cursor: first.nextCursor! });
      expect(second.items.map((r) => r.idempotencyKey)).toEqual(['k1']);
      expect(second.nextCursor).toBeNull();
      expect((await outbox.list({ limit: 10, site: 'demo-shop' })).items.map((r) => r.idempotencyKey)).toEqual(['k2']);
      expect((await outbox.list({ limit: 10, alarm: 'a-1', state: 'pending' })).items).toHaveLength(2);
      await expect(outbox.list({ limit: 10, cursor: 'x' })).rejects.toMatchObject({ code: 'STW_ERR_VALIDATION' });
      expect(await outbox.routesFor('a-1')).toEqual(['desk']);
      expect(await outbox.routesFor('a-2')).toEqual(['mail']);
      expect(await outbox.routesFor('none')).toEqual([]);
    });

    it('claims due rows in (next_attempt_at, id) order and leases them until the lease ends', async () => {
      await outbox.insert([d('late', { nextAttemptAt: T0 + 5000 }), d('b', { nextAttemptAt: T0 - 1000 }), d('c', { nextAttemptAt: T0 - 1000 }), d('a', { nextAttemptAt: T0 - 2000 })]);
      const claimed = await outbox.claimDue(T0, 10, 60_000);
      expect(claimed.map((r) => r.idempotencyKey)).toEqual(['a', 'b', 'c']);
      // The rows as they were due; the lease is what is stored.
      expect(claimed.map((r) => r.nextAttemptAt)).toEqual([T0 - 2000, T0 - 1000, T0 - 1000]);
      expect(await outbox.claimDue(T0 + 10_000, 10, 60_000)).toEqual([expect.objectContaining({ idempotencyKey: 'late' })]);
      expect(await outbox.claimDue(T0 + 30_000, 10, 60_000)).toEqual([]);
      // The lease ran out (the process died mid-send): due again.
      // All three leased until the same instant: by id (the order they were inserted in).
      expect((await outbox.claimDue(T0 + 60_000, 10, 60_000)).map((r) => r.idempotencyKey)).toEqual(['b', 'c', 'a']);
      expect((await outbox.claimDue(T0 + 200_000, 2, 60_000)).map((r) => r.idempotencyKey)).toEqual(['late', 'b']);
    });

    it('records outcomes only on pending rows; retry revives what was not delivered', async () => {
      await outbox.insert([d('ok'), d('again'), d('gone')]);
      const [ok, again, gone] = await outbox.claimDue(T0, 10);
      await outbox.markDelivered(ok!.id, 1, T0 + 100);
      await outbox.markRetry(again!.id, 1, T0 + 5000, 'HTTP 503 '.repeat(200));
      await outbox.markDead(gone!.id, 3, 'HTTP 404');
      // A late outcome for a row already settled changes nothing.
      await outbox.markDead(ok!.id, 2, 'late');
      expect(await outbox.get(ok!.id)).toMatchObject({ state: 'delivered', attempts: 1, deliveredAt: T0 + 100, lastError: null });
      const retried = (await outbox.get(again!.id))!;
      expect(retried).toMatchObject({ state: 'pending', attempts: 1, nextAttemptAt: T0 + 5000 });
      expect(retried.lastError!.length).toBe(1000);
      expect(await outbox.get(gone!.id)).toMatchObject({ state: 'dead', attempts: 3, lastError: 'HTTP 404' });
      expect(await outbox.counts()).toEqual({ pending: 1, delivered: 1, dead: 1 });

      now = T0 + 9000;
      expect(await outbox.retry(gone!.id)).toMatchObject({ id: gone!.id, state: 'pending', attempts: 0, nextAttemptAt: T0 + 9000 });
      await expect(outbox.retry(ok!.id)).rejects.toMatchObject({ code: 'STW_ERR_DELIVERY_NOT_RETRYABLE' });
      await expect(outbox.retry(999_999)).rejects.toMatchObject({ code: 'STW_ERR_DELIVERY_NOT_FOUND' });
      expect(await outbox.get(999_999)).toBeNull();
      expect(await outbox.counts()).toEqual({ pending: 2, delivered: 1, dead: 0 });
    });

    it('two workers claiming at the same time never get the same delivery', async () => {
      const other = await t.second();
      const n = 120;
      await outbox.insert(Array.from({ length: n }, (_, i) => d(`k${i}`, { nextAttemptAt: T0 - (i % 7) })));
      const got: string[][] = [[], []];
      await Promise.all(
        [outbox, other].map(async (o, w) => {
          for (;;) {
            const batch = await o.claimDue(T0, 7, 60_000);
            if (batch.length === 0) return;
            got[w]!.push(...batch.map((r) => r.idempotencyKey));
            // Send (a turn of the event loop), then mark, as the worker does.
            await new Promise((r) => setImmediate(r));
            for (const r of batch) await o.markDelivered(r.id, 1, T0);
          }
        }),
      );
      const all = [...got[0]!, ...got[1]!];
      expect(all).toHaveLength(n);
      expect(new Set(all).size).toBe(n);
      expect(await outbox.counts()).toEqual({ pending: 0, delivered: n, dead: 0 });
    });
  });
}
