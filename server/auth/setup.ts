/**
 * First start without any user: instead of a default password (which real installations never
 * change), the server prints a one-time setup token and the first admin is created with it
 * (`POST /api/auth/setup` or the dashboard's setup page). Only the token's sha256 is stored.
 */
import { z } from 'zod';
import { StoreTwinError } from '../errors.ts';
import type { SettingsStore } from '../settings/store.ts';
import { newSecret, sha256Hex } from './secrets.ts';
import { passwordSchema, sameDigest, usernameSchema, type PublicUser, type UserService } from './users.ts';

export const SETUP_TOKEN_SETTING = 'setup_token_hash';

/**
 * Returns a fresh setup token when there is no user yet (each start replaces the previous
 * one, so a token printed in an old log stops working), or null once users exist.
 */
export async function ensureSetupToken(deps: { users: Pick<UserService, 'countUsers'>; settings: SettingsStore }): Promise<string | null> {
  if ((await deps.users.countUsers()) > 0) {
    // A user was created some other way (CLI): a leftover token must not mint another admin.
    if ((await deps.settings.get(SETUP_TOKEN_SETTING)) !== null) await deps.settings.set(SETUP_TOKEN_SETTING, null);
    return null;
  }
  const token = newSecret();
  await deps.settings.set(SETUP_TOKEN_SETTING, sha256Hex(token));
  return token;
}

export const setupInputSchema = z.object({ username: usernameSchema, password: passwordSchema }).strict();
export type SetupInput = z.input<typeof setupInputSchema>;

export interface SetupDeps {
  settings: SettingsStore;
  users: UserService;
}

/**
 * Creates the first admin and deletes the setup token. STW_ERR_SETUP_DONE once any user
 * exists; STW_ERR_SETUP_TOKEN_INVALID for a wrong token.
 */
export async function completeSetup(deps: SetupDeps, token: string, input: SetupInput): Promise<PublicUser> {
  const { settings, users } = deps;
  if ((await users.countUsers()) > 0) throw new StoreTwinError('STW_ERR_SETUP_DONE');
  const parsed = setupInputSchema.safeParse(input);
  if (!parsed.success) {
    throw new StoreTwinError('STW_ERR_VALIDATION', z.prettifyError(parsed.error), parsed.error.issues);
  }
  const stored = await settings.get(SETUP_TOKEN_SETTING);
  if (stored === null || !sameDigest(sha256Hex(token), stored)) throw new StoreTwinError('STW_ERR_SETUP_TOKEN_INVALID');

  // Consumed before the (async) hashing, and only if still there: of two concurrent requests
  // (or two workers) only one creates an admin.
  if (!(await settings.compareAndSet(SETUP_TOKEN_SETTING, stored, null))) throw new StoreTwinError('STW_ERR_SETUP_TOKEN_INVALID');
  try {
    return await users.createUser({ ...parsed.data, role: 'admin', sites: [] });
  } catch (err) {
    // Nothing was created: give the token back so the operator can retry with it.
    if ((await users.countUsers()) === 0) await settings.compareAndSet(SETUP_TOKEN_SETTING, null, stored);
    throw err;
  }
}

/** Whether the server is still waiting for its first admin (the dashboard shows the setup page). */
export async function setupPending(users: Pick<UserService, 'countUsers'>): Promise<boolean> {
  return (await users.countUsers()) === 0;
}
