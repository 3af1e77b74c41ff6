import { type SqliteStorage } from '../../server/sqlite-storage.ts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConnectionGuard } from '../../server/auth/connection-guard.ts';
import { UserService } from '../../server/auth/users.ts';

import { tempStorage } from './storage.ts';

const PASSWORD = 'long enough secret';

describe('ConnectionGuard', () => {
  let storage: SqliteStorage;
  let close: () => Promise<void>;
  let clock: Date;
  let users: UserService;
  let guard: ConnectionGuard;

  beforeEach(async () => {
    ({ storage, close } = await tempStorage());
    clock = new Date('2026-11-23T02:00:00Z');
    users = new UserService({ accounts: storage.accounts, devices: { getDevice: () => null }, now: () => clock, sessionTtlMs: 60_000 });
    guard = new ConnectionGuard({ users });
  });
  afterEach(() => close());

  async function tracked(username: string, sites: string[] = []) {
    const user = await users.createUser({ username, password: PASSWORD, role: 'operator', sites });
    const { token } = await users.login(username, PASSWORD);
    const reasons: string[] = [];
    const untrack = guard.track(token, user, (r) => reasons.push(r));
    return { user, token, reasons, untrack };
  }

  it('keeps connections whose token and scope are unchanged', async () => {
    const c = await tracked('steady', ['demo-hotel']);
    expect(await guard.sweep()).toBe(0);
    expect(c.reasons).toEqual([]);
    expect(guard.size()).toBe(1);
  });

  it('closes a connection when its session expires', async () => {
    const c = await tracked('expiring');
    clock = new Date(clock.getTime() + 59_000);
    expect(await guard.sweep()).toBe(0);
    clock = new Date(clock.getTime() + 1_000);
    expect(await guard.sweep()).toBe(1);
    expect(c.reasons).toEqual(['token revoked or expired']);
    expect(guard.size()).toBe(0);
  });

  it('closes on logout, token revocation, password change and deletion — also when done by another process', async () => {
    const a = await tracked('user-a');
    await users.logout(a.token);
    const b = await tracked('user-b');
    // What the CLI does from another process: the database changes, no event reaches us.
    await storage.accounts.deleteUserSessions(b.user.id);
    const c = await tracked('user-c');
    await users.setPassword(c.user.id, 'another long secret');
    const d = await tracked('user-d');
    await users.deleteUser(d.user.id);
    expect(await guard.sweep()).toBe(4);
    for (const x of [a, b, c, d]) expect(x.reasons).toEqual(['token revoked or expired']);
  });

  it('closes when the role or the sites change, and not after it was untracked', async () => {
    const moved = await tracked('moved', ['demo-hotel']);
    const promoted = await tracked('promoted', ['demo-hotel']);
    const gone = await tracked('gone', ['demo-hotel']);
    gone.untrack();
    await users.updateUser(moved.user.id, { sites: ['demo-shop'] });
    await users.updateUser(promoted.user.id, { role: 'manager' });
    await users.updateUser(gone.user.id, { role: 'manager' });
    expect(await guard.sweep()).toBe(2);
    expect(moved.reasons).toEqual(['role or sites changed']);
    expect(promoted.reasons).toEqual(['role or sites changed']);
    expect(gone.reasons).toEqual([]);
  });
});
