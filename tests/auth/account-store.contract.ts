/**
 * The AccountStore contract: users, sessions and API tokens (with an API token's broker
 * password line), on every implementation (SQLite, PostgreSQL). Ported from the old
 * SqliteRegistry tests, plus what two workers sharing one database may race on.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SessionRecord } from '../../server/storage/types.ts';
import type { MakeRegistryStores, RegistryStores } from '../helpers/registry-stores.ts';

export function accountStoreContract(name: string, make: MakeRegistryStores): void {
  describe(`AccountStore contract: ${name}`, () => {
    let s: RegistryStores;
    let other: RegistryStores;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ stores: s, other, cleanup } = await make());
    });
    afterEach(async () => {
      await cleanup();
    });

    describe('users', () => {
      it('inserts, reads by id and by name regardless of case', async () => {
        const u = await s.accounts.insertUser({ username: 'Alice', role: 'manager', sites: ['site-a', 'site-b'], passwordHash: 'h1' });
        expect(u).toMatchObject({ username: 'Alice', role: 'manager', sites: ['site-a', 'site-b'], passwordHash: 'h1' });
        expect(typeof u.id).toBe('number');
        expect(u.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
        expect(await s.accounts.getUser(u.id)).toEqual(u);
        expect(await s.accounts.getUserByName('alice')).toEqual(u);
        expect(await other.accounts.getUserByName('ALICE')).toEqual(u);
        expect(await s.accounts.getUserByName('bob')).toBeNull();
        expect(await s.accounts.getUser(9999)).toBeNull();
      });

      it('refuses a duplicate username, whatever its case', async () => {
        await s.accounts.insertUser({ username: 'alice', role: 'admin', sites: [], passwordHash: 'h' });
        await expect(s.accounts.insertUser({ username: 'ALICE', role: 'operator', sites: [], passwordHash: 'h' })).rejects.toMatchObject({ code: 'STW_ERR_USER_EXISTS' });
        expect(await s.accounts.countUsers()).toBe(1);
      });

      it('lists by id, counts, updates and deletes', async () => {
        expect(await s.accounts.countUsers()).toBe(0);
        const a = await s.accounts.insertUser({ username: 'a', role: 'admin', sites: [], passwordHash: 'h' });
        const b = await s.accounts.insertUser({ username: 'b', role: 'technician', sites: ['site-a'], passwordHash: 'h' });
        expect((await s.accounts.listUsers()).map((u) => u.username)).toEqual(['a', 'b']);
        expect(b.id).toBeGreaterThan(a.id);
        expect(await s.accounts.countUsers()).toBe(2);

        expect(await s.accounts.updateUser(b.id, { role: 'operator', sites: [] })).toMatchObject({ role: 'operator', sites: [], passwordHash: 'h' });
        expect(await s.accounts.updateUser(b.id, { passwordHash: 'h2' })).toMatchObject({ role: 'operator', sites: [], passwordHash: 'h2' });
        expect(await s.accounts.updateUser(9999, { role: 'admin' })).toBeNull();

        expect(await s.accounts.deleteUser(a.id)).toBe(true);
        expect(await s.accounts.deleteUser(a.id)).toBe(false);
        expect((await s.accounts.listUsers()).map((u) => u.id)).toEqual([b.id]);
      });

      it('sets a password and ends every session and token of the account in one go', async () => {
        const u = await s.accounts.insertUser({ username: 'alice', role: 'admin', sites: [], passwordHash: 'h' });
        const v = await s.accounts.insertUser({ username: 'victor', role: 'admin', sites: [], passwordHash: 'h' });
        await s.accounts.insertSession(session('a1', u.id));
        await s.accounts.insertSession(session('a2', u.id, { kind: 'api', expiresAt: null }));
        await s.accounts.insertSession(session('v1', v.id));
        expect(await s.accounts.setPassword(u.id, 'h2')).toMatchObject({ id: u.id, passwordHash: 'h2' });
        expect(await s.accounts.listSessions(u.id)).toEqual([]);
        expect((await s.accounts.listSessions(v.id)).map((x) => x.tokenHash)).toEqual(['v1']);
        expect(await s.accounts.setPassword(9999, 'h')).toBeNull();
      });

      it('two workers creating one name at once: one user, one STW_ERR_USER_EXISTS', async () => {
        const outcomes = await Promise.allSettled([
          s.accounts.insertUser({ username: 'olga', role: 'operator', sites: [], passwordHash: 'h' }),
          other.accounts.insertUser({ username: 'OLGA', role: 'admin', sites: [], passwordHash: 'h' }),
        ]);
        expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
        expect(outcomes.find((o) => o.status === 'rejected')).toMatchObject({ reason: { code: 'STW_ERR_USER_EXISTS' } });
        expect(await s.accounts.countUsers()).toBe(1);
      });
    });

    describe('sessions', () => {
      it('stores, reads, deletes, and cascades from a deleted user', async () => {
        const u = await s.accounts.insertUser({ username: 'alice', role: 'admin', sites: [], passwordHash: 'h' });
        const a = session('a'.repeat(64), u.id, { createdAt: '2026-11-23T02:00:00.000Z', expiresAt: '2026-11-23T14:00:00.000Z' });
        const api = session('b'.repeat(64), u.id, { kind: 'api', name: 'grafana', createdAt: '2026-11-23T02:00:00.000Z', expiresAt: null });
        await s.accounts.insertSession(a);
        await s.accounts.insertSession(api);
        expect(await s.accounts.getSession(a.tokenHash)).toEqual(a);
        expect(await other.accounts.getSession(api.tokenHash)).toEqual(api);
        expect(await s.accounts.getSession('c'.repeat(64))).toBeNull();

        expect(await s.accounts.deleteSession(a.tokenHash)).toBe(true);
        expect(await s.accounts.deleteSession(a.tokenHash)).toBe(false);
        expect(await s.accounts.getSession(a.tokenHash)).toBeNull();

        await s.accounts.deleteUser(u.id);
        expect(await s.accounts.getSession(api.tokenHash)).toBeNull();
      });

      it('refuses a session for an unknown user, and keeps its password line out too', async () => {
        await expect(s.accounts.insertSession(session('x', 42), { username: 'ghost', verifier: 'x', hash: '$7$x', createdAt: 1 })).rejects.toMatchObject({ code: 'STW_ERR_USER_NOT_FOUND' });
        expect(await s.passwords.list()).toEqual([]);
      });

      it("stores an API token's broker password line with it", async () => {
        const u = await s.accounts.insertUser({ username: 'feed', role: 'manager', sites: [], passwordHash: 'h' });
        await s.accounts.insertSession(session('t1', u.id, { kind: 'api', expiresAt: null }), { username: 'feed', verifier: 't1', hash: '$7$feed', createdAt: 5 });
        expect(await s.passwords.list()).toEqual([{ username: 'feed', verifier: 't1', hash: '$7$feed', createdAt: 5 }]);
      });

      it('lists a user’s sessions oldest first, ties by token hash', async () => {
        const u = await s.accounts.insertUser({ username: 'alice', role: 'admin', sites: [], passwordHash: 'h' });
        await s.accounts.insertSession(session('z', u.id, { createdAt: '2026-11-23T01:00:00.000Z' }));
        await s.accounts.insertSession(session('b', u.id, { createdAt: '2026-11-23T02:00:00.000Z' }));
        await s.accounts.insertSession(session('a', u.id, { createdAt: '2026-11-23T02:00:00.000Z' }));
        expect((await s.accounts.listSessions(u.id)).map((x) => x.tokenHash)).toEqual(['z', 'a', 'b']);
        expect(await s.accounts.deleteUserSessions(u.id)).toBe(3);
        expect(await s.accounts.listSessions(u.id)).toEqual([]);
      });

      it('deletes sessions expired at or before now, never tokens without expiry', async () => {
        const u = await s.accounts.insertUser({ username: 'alice', role: 'admin', sites: [], passwordHash: 'h' });
        const mk = (tokenHash: string, expiresAt: string | null) => s.accounts.insertSession(session(tokenHash, u.id, { kind: expiresAt === null ? 'api' : 'session', createdAt: '2026-11-23T00:00:00.000Z', expiresAt }));
        await mk('past', '2026-11-23T11:59:59.999Z');
        await mk('exactly-now', '2026-11-23T12:00:00.000Z');
        await mk('future', '2026-11-23T12:00:00.001Z');
        await mk('never', null);
        // The same instant written with an offset: compared as a time, not as text.
        expect(await s.accounts.deleteExpiredSessions('2026-11-23T20:00:00+08:00')).toBe(2);
        const left = await Promise.all(['past', 'exactly-now', 'future', 'never'].map(async (t) => (await s.accounts.getSession(t)) !== null));
        expect(left).toEqual([false, false, true, true]);
        expect(await s.accounts.deleteExpiredSessions('2026-11-23T12:00:00.000Z')).toBe(0);
        await expect(s.accounts.deleteExpiredSessions('noon')).rejects.toMatchObject({ code: 'STW_ERR_VALIDATION' });
      });
    });
  });
}

function session(tokenHash: string, userId: number, o: Partial<SessionRecord> = {}): SessionRecord {
  return { tokenHash, userId, kind: 'session', name: null, createdAt: '2026-11-23T02:00:00.000Z', expiresAt: '2026-11-23T14:00:00.000Z', ...o };
}
