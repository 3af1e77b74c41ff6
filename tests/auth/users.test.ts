import { type SqliteStorage } from '../../server/sqlite-storage.ts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../server/auth/secrets.ts';
import { UserService, publicUser } from '../../server/auth/users.ts';

import { tempStorage } from './storage.ts';

const PASSWORD = 'long enough secret';

describe('UserService', () => {
  let storage: SqliteStorage;
  let close: () => Promise<void>;
  let clock: Date;
  let users: UserService;

  beforeEach(async () => {
    ({ storage, close } = await tempStorage());
    clock = new Date('2026-11-23T02:00:00Z');
    users = new UserService({ accounts: storage.accounts, devices: { getDevice: () => null }, now: () => clock, sessionTtlMs: 60_000 });
  });
  afterEach(() => close());

  it('creates users without exposing the hash, and refuses duplicates and weak input', async () => {
    const user = await users.createUser({ username: 'ana.li', password: PASSWORD, role: 'manager', sites: ['demo-shop'] });
    expect(user).toMatchObject({ username: 'ana.li', role: 'manager', sites: ['demo-shop'] });
    expect(user).not.toHaveProperty('passwordHash');
    expect((await storage.accounts.getUser(user.id))?.passwordHash).toMatch(/^scrypt\$/);
    expect((await storage.accounts.getUser(user.id))?.passwordHash).not.toContain(PASSWORD);

    await expect(users.createUser({ username: 'ana.li', password: PASSWORD, role: 'operator' })).rejects.toMatchObject({
      code: 'STW_ERR_USER_EXISTS',
    });
    await expect(users.createUser({ username: 'x', password: PASSWORD, role: 'operator' })).rejects.toMatchObject({
      code: 'STW_ERR_VALIDATION',
    });
    await expect(users.createUser({ username: 'bob', password: 'short', role: 'operator' })).rejects.toMatchObject({
      code: 'STW_ERR_VALIDATION',
    });
    await expect(users.createUser({ username: 'bob', password: PASSWORD, role: 'root' as 'admin' })).rejects.toMatchObject({
      code: 'STW_ERR_VALIDATION',
    });
  });

  it('logs in, stores only the token hash, and expires sessions', async () => {
    await users.createUser({ username: 'ana', password: PASSWORD, role: 'operator' });
    const { token, user, expiresAt } = await users.login('ana', PASSWORD);
    expect(user.username).toBe('ana');
    expect(expiresAt).toBe('2026-11-23T02:01:00.000Z');
    expect(await storage.accounts.getSession(token)).toBeNull();
    expect((await storage.accounts.getSession(sha256Hex(token)))?.kind).toBe('session');
    expect((await users.authenticate(token))?.username).toBe('ana');

    clock = new Date('2026-11-23T02:01:00Z');
    expect(await users.authenticate(token)).toBeNull();
    expect(await storage.accounts.getSession(sha256Hex(token))).toBeNull();
  });

  it('answers a wrong password and an unknown user the same way', async () => {
    await users.createUser({ username: 'ana', password: PASSWORD, role: 'operator' });
    await expect(users.login('ana', 'wrong password!')).rejects.toMatchObject({ code: 'STW_ERR_AUTH_INVALID' });
    await expect(users.login('nobody', PASSWORD)).rejects.toMatchObject({ code: 'STW_ERR_AUTH_INVALID' });
    await expect(users.login('ana', 'x'.repeat(5000))).rejects.toMatchObject({ code: 'STW_ERR_AUTH_INVALID' });
  });

  it('logout revokes the token; deleted users lose their sessions', async () => {
    const ana = await users.createUser({ username: 'ana', password: PASSWORD, role: 'operator' });
    await users.createUser({ username: 'root', password: PASSWORD, role: 'admin' });
    const { token } = await users.login('ana', PASSWORD);
    expect(await users.logout(token)).toBe(true);
    expect(await users.authenticate(token)).toBeNull();
    expect(await users.logout(token)).toBe(false);

    const { token: again } = await users.login('ana', PASSWORD);
    await users.deleteUser(ana.id);
    expect(await users.authenticate(again)).toBeNull();
  });

  it('issues API tokens with an optional lifetime', async () => {
    const ana = await users.createUser({ username: 'ana', password: PASSWORD, role: 'operator' });
    const forever = await users.createApiToken(ana.id, 'grafana');
    const week = await users.createApiToken(ana.id, 'script', 7);
    expect(await storage.accounts.getSession(sha256Hex(forever))).toMatchObject({ kind: 'api', name: 'grafana', expiresAt: null });
    expect(await users.tokenExpiry(week)).toBe('2026-11-30T02:00:00.000Z');

    clock = new Date('2027-06-01T00:00:00Z');
    expect((await users.authenticate(forever))?.id).toBe(ana.id);
    expect(await users.authenticate(week)).toBeNull();
    await expect(users.createApiToken(ana.id, '')).rejects.toMatchObject({ code: 'STW_ERR_VALIDATION' });
    await expect(users.createApiToken(999, 'x')).rejects.toMatchObject({ code: 'STW_ERR_USER_NOT_FOUND' });
  });

  it('keeps the last admin', async () => {
    const root = await users.createUser({ username: 'root', password: PASSWORD, role: 'admin' });
    await expect(users.deleteUser(root.id)).rejects.toMatchObject({ code: 'STW_ERR_LAST_ADMIN' });
    const second = await users.createUser({ username: 'root2', password: PASSWORD, role: 'admin' });
    await users.deleteUser(root.id);
    expect((await users.listUsers()).map((u) => u.id)).toEqual([second.id]);
  });

  it('changes passwords', async () => {
    const ana = await users.createUser({ username: 'ana', password: PASSWORD, role: 'operator' });
    await users.setPassword(ana.id, 'another long one');
    await expect(users.login('ana', PASSWORD)).rejects.toMatchObject({ code: 'STW_ERR_AUTH_INVALID' });
    expect((await users.login('ana', 'another long one')).user.id).toBe(ana.id);
    expect(publicUser((await storage.accounts.getUser(ana.id))!)).not.toHaveProperty('passwordHash');
  });
});
