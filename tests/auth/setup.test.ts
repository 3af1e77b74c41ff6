import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../server/auth/secrets.ts';
import { SETUP_TOKEN_SETTING, completeSetup, ensureSetupToken } from '../../server/auth/setup.ts';
import { UserService } from '../../server/auth/users.ts';
import type { SqliteStorage } from '../../server/storage/sqlite/index.ts';
import { tempStorage } from './storage.ts';

describe('first-start setup', () => {
  let storage: SqliteStorage;
  let close: () => Promise<void>;
  let users: UserService;

  beforeEach(async () => {
    ({ storage, close } = await tempStorage());
    users = new UserService({ registry: storage.registry });
  });
  afterEach(() => close());

  it('issues a token only while there is no user, storing just its hash', async () => {
    const first = ensureSetupToken(storage.registry);
    expect(first).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(storage.registry.getSetting(SETUP_TOKEN_SETTING)).toBe(sha256Hex(first!));

    // A restart replaces it: a token printed in an old log stops working.
    const second = ensureSetupToken(storage.registry);
    expect(second).not.toBe(first);
    await expect(completeSetup({ registry: storage.registry, users }, first!, { username: 'root', password: 'long enough pw' })).rejects.toMatchObject({
      code: 'STW_ERR_SETUP_TOKEN_INVALID',
    });

    const admin = await completeSetup({ registry: storage.registry, users }, second!, { username: 'root', password: 'long enough pw' });
    expect(admin).toMatchObject({ username: 'root', role: 'admin', sites: [] });
    expect(storage.registry.getSetting(SETUP_TOKEN_SETTING)).toBeNull();
    expect(ensureSetupToken(storage.registry)).toBeNull();
    await expect(completeSetup({ registry: storage.registry, users }, second!, { username: 'other', password: 'long enough pw' })).rejects.toMatchObject({
      code: 'STW_ERR_SETUP_DONE',
    });
  });

  it('keeps the token usable after a refused password', async () => {
    const token = ensureSetupToken(storage.registry)!;
    await expect(completeSetup({ registry: storage.registry, users }, token, { username: 'root', password: 'short' })).rejects.toMatchObject({
      code: 'STW_ERR_VALIDATION',
    });
    await expect(completeSetup({ registry: storage.registry, users }, token, { username: 'root', password: 'long enough pw' })).resolves.toMatchObject({
      role: 'admin',
    });
  });

  it('drops a leftover token once a user exists (created by the CLI)', async () => {
    ensureSetupToken(storage.registry);
    await users.createUser({ username: 'cli-admin', password: 'long enough pw', role: 'admin' });
    expect(ensureSetupToken(storage.registry)).toBeNull();
    expect(storage.registry.getSetting(SETUP_TOKEN_SETTING)).toBeNull();
  });
});
