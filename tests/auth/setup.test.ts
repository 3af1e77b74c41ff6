import { type SqliteStorage } from '../../server/sqlite-storage.ts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../server/auth/secrets.ts';
import { SETUP_TOKEN_SETTING, completeSetup, ensureSetupToken } from '../../server/auth/setup.ts';
import { UserService } from '../../server/auth/users.ts';

import { tempStorage } from './storage.ts';

describe('first-start setup', () => {
  let storage: SqliteStorage;
  let close: () => Promise<void>;
  let users: UserService;

  beforeEach(async () => {
    ({ storage, close } = await tempStorage());
    users = new UserService({ accounts: storage.accounts, devices: { getDevice: () => null } });
  });
  afterEach(() => close());

  it('issues a token only while there is no user, storing just its hash', async () => {
    const first = (await ensureSetupToken({ users, settings: storage.settings }));
    expect(first).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await storage.settings.get(SETUP_TOKEN_SETTING)).toBe(sha256Hex(first!));

    // A restart replaces it: a token printed in an old log stops working.
    const second = (await ensureSetupToken({ users, settings: storage.settings }));
    expect(second).not.toBe(first);
    await expect(completeSetup({ settings: storage.settings, users }, first!, { username: 'root', password: 'long enough pw' })).rejects.toMatchObject({
      code: 'STW_ERR_SETUP_TOKEN_INVALID',
    });

    const admin = await completeSetup({ settings: storage.settings, users }, second!, { username: 'root', password: 'long enough pw' });
    expect(admin).toMatchObject({ username: 'root', role: 'admin', sites: [] });
    expect(await storage.settings.get(SETUP_TOKEN_SETTING)).toBeNull();
    expect(await ensureSetupToken({ users, settings: storage.settings })).toBeNull();
    await expect(completeSetup({ settings: storage.settings, users }, second!, { username: 'other', password: 'long enough pw' })).rejects.toMatchObject({
      code: 'STW_ERR_SETUP_DONE',
    });
  });

  it('keeps the token usable after a refused password', async () => {
    const token = (await ensureSetupToken({ users, settings: storage.settings }))!;
    await expect(completeSetup({ settings: storage.settings, users }, token, { username: 'root', password: 'short' })).rejects.toMatchObject({
      code: 'STW_ERR_VALIDATION',
    });
    await expect(completeSetup({ settings: storage.settings, users }, token, { username: 'root', password: 'long enough pw' })).resolves.toMatchObject({
      role: 'admin',
    });
  });

  it('lets only one of two requests racing with the same token create an admin', async () => {
    const token = (await ensureSetupToken({ users, settings: storage.settings }))!;
    const outcomes = await Promise.allSettled([
      completeSetup({ settings: storage.settings, users }, token, { username: 'first', password: 'long enough pw' }),
      completeSetup({ settings: storage.settings, users }, token, { username: 'second', password: 'long enough pw' }),
    ]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    expect(await storage.accounts.countUsers()).toBe(1);
  });

  it('drops a leftover token once a user exists (created by the CLI)', async () => {
    await ensureSetupToken({ users, settings: storage.settings });
    await users.createUser({ username: 'cli-admin', password: 'long enough pw', role: 'admin' });
    expect(await ensureSetupToken({ users, settings: storage.settings })).toBeNull();
    expect(await storage.settings.get(SETUP_TOKEN_SETTING)).toBeNull();
  });
});
