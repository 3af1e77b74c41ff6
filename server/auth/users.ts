/**
 * Users, sessions and API tokens. Passwords are stored as scrypt hashes; session and API
 * tokens are 256-bit random values stored only as sha256 (server/auth/secrets.ts), so a leaked
 * database holds nothing a client could present.
 */
import { timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { StoreTwinError } from '../errors.ts';
import { ID_PATTERN } from '../sites/model.ts';
import { brokerPasswordLine } from '../broker/external/password-store.ts';
import { ROLES, type Role, type UserRecord } from '../storage/types.ts';
import { hashSecret, newSecret, sha256Hex, verifySecret } from './secrets.ts';
import type { AccountStore } from './store.ts';

/** A user as shown outside the server: everything but the password hash. */
export type PublicUser = Omit<UserRecord, 'passwordHash'>;

export const USERNAME_PATTERN = /^[a-zA-Z0-9._-]{2,64}$/;
/** NIST SP 800-63B asks for at least 8; 10 because these accounts can disarm a shop. */
export const PASSWORD_MIN = 10;
/** Bounds the work one request can ask of the hasher and the size of a login body. */
export const PASSWORD_MAX = 256;

export const DEFAULT_SESSION_TTL_MS = 12 * 60 * 60 * 1000;
/** API tokens live at most ten years; without ttlDays they do not expire (revoke by logging out with them). */
export const API_TOKEN_MAX_TTL_DAYS = 3650;

export const usernameSchema = z
  .string()
  .regex(USERNAME_PATTERN, 'must be 2-64 characters: letters, digits, ".", "_" or "-"');
export const passwordSchema = z
  .string()
  .min(PASSWORD_MIN, `must be at least ${PASSWORD_MIN} characters`)
  .max(PASSWORD_MAX, `must be at most ${PASSWORD_MAX} characters`);

const roleSchema = z.enum(ROLES as [Role, ...Role[]]);
const sitesSchema = z.array(z.string().regex(ID_PATTERN)).max(1000);

export const newUserSchema = z
  .object({
    username: usernameSchema,
    password: passwordSchema,
    role: roleSchema,
    sites: sitesSchema.default([]),
  })
  .strict();
export type NewUser = z.input<typeof newUserSchema>;

/** What an admin may change of an account: its role, its sites, its password (a reset). */
export const userUpdateSchema = z
  .object({ role: roleSchema, sites: sitesSchema, password: passwordSchema })
  .partial()
  .strict()
  .refine((u) => Object.keys(u).length > 0, { message: 'nothing to change: give role, sites or password' });
export type UserUpdate = z.input<typeof userUpdateSchema>;

/**
 * A session or API token as its owner and admins see it: never the token, only an id made
 * of the first 16 hex digits of its sha256 (enough to name it, useless to present).
 */
export interface TokenInfo {
  id: string;
  kind: 'session' | 'api';
  name: string | null;
  createdAt: string;
  expiresAt: string | null;
}

/** The id a token is listed and revoked by. */
export function tokenId(tokenHash: string): string {
  return tokenHash.slice(0, 16);
}

/** A valid token, the account it belongs to and when it stops working (null = never). */
export interface AuthenticatedToken {
  user: PublicUser;
  tokenHash: string;
  expiresAt: string | null;
}

export interface LoginResult {
  token: string;
  user: PublicUser;
  /** ISO 8601. */
  expiresAt: string;
}

export interface UserServiceDeps {
  accounts: AccountStore;
  /** Account names and device ids share the MQTT username space. */
  devices: { getDevice(id: string): unknown };
  now?: () => Date;
  /** Session lifetime; 12 h by default (a shift plus slack). */
  sessionTtlMs?: number;
}

export function publicUser(u: UserRecord): PublicUser {
  const { passwordHash: _passwordHash, ...user } = u;
  return user;
}

function validation(error: z.ZodError): StoreTwinError {
  return new StoreTwinError('STW_ERR_VALIDATION', z.prettifyError(error), error.issues);
}

export class UserService {
  /** Hash of a random password, verified against when the username is unknown (see login). */
  private dummyHash: Promise<string> | null = null;

  constructor(private readonly deps: UserServiceDeps) {}

  get sessionTtlMs(): number {
    return this.deps.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS;
  }

  async createUser(input: NewUser): Promise<PublicUser> {
    const parsed = newUserSchema.safeParse(input);
    if (!parsed.success) throw validation(parsed.error);
    const { username, password, role, sites } = parsed.data;
    if (await this.deps.accounts.getUserByName(username)) {
      throw new StoreTwinError('STW_ERR_USER_EXISTS', `user "${username}" already exists`);
    }
    // Account names and device ids share the MQTT username space (device ids are lower case).
    if (this.deps.devices.getDevice(username.toLowerCase())) {
      throw new StoreTwinError('STW_ERR_USER_EXISTS', `"${username}" is a device's id: choose another name`);
    }
    // The check above only spares a useless scrypt run; the registry's unique constraint is
    // what settles a race with a concurrent request or CLI process (also STW_ERR_USER_EXISTS).
    const passwordHash = await hashSecret(password);
    const rec = await this.deps.accounts.insertUser({ username, role, sites: [...new Set(sites)], passwordHash });
    return publicUser(rec);
  }

  /**
   * Sets a new password (an admin's reset, the CLI, or the user's own change after
   * `changePassword` checked the old one) and ends every session and API token of the
   * account: whoever knew the old password must not stay logged in. Live connections notice
   * within a second (server/auth/connection-guard.ts).
   */
  async setPassword(userId: number, password: string): Promise<void> {
    const parsed = passwordSchema.safeParse(password);
    if (!parsed.success) throw validation(parsed.error);
    const passwordHash = await hashSecret(parsed.data);
    // The hash and the end of the sessions commit together.
    const updated = await this.deps.accounts.setPassword(userId, passwordHash);
    if (!updated) throw new StoreTwinError('STW_ERR_USER_NOT_FOUND', `no user ${userId}`);
  }

  /** The user's own change: the current password must be right (403 STW_ERR_PASSWORD_INVALID). */
  async changePassword(userId: number, current: string, next: string): Promise<void> {
    const rec = await this.deps.accounts.getUser(userId);
    if (!rec) throw new StoreTwinError('STW_ERR_USER_NOT_FOUND', `no user ${userId}`);
    if (current.length > PASSWORD_MAX || !(await verifySecret(current, rec.passwordHash))) {
      throw new StoreTwinError('STW_ERR_PASSWORD_INVALID');
    }
    await this.setPassword(userId, next);
  }

  /**
   * Changes role and/or sites (and resets the password when given). Demoting the last admin
   * is refused like deleting it. A change of role or sites ends the account's live
   * connections (they were authorised for the old scope) but keeps its tokens: every request
   * is checked against the account as it is now.
   */
  async updateUser(id: number, input: UserUpdate): Promise<PublicUser> {
    const parsed = userUpdateSchema.safeParse(input);
    if (!parsed.success) throw validation(parsed.error);
    const rec = await this.deps.accounts.getUser(id);
    if (!rec) throw new StoreTwinError('STW_ERR_USER_NOT_FOUND', `no user ${id}`);
    const { role, sites, password } = parsed.data;
    if (role !== undefined && role !== 'admin' && rec.role === 'admin' && (await this.adminCount()) <= 1) {
      throw new StoreTwinError('STW_ERR_LAST_ADMIN');
    }
    if (role !== undefined || sites !== undefined) {
      await this.deps.accounts.updateUser(id, { ...(role === undefined ? {} : { role }), ...(sites === undefined ? {} : { sites: [...new Set(sites)] }) });
    }
    if (password !== undefined) await this.setPassword(id, password);
    return publicUser((await this.deps.accounts.getUser(id)) ?? rec);
  }

  /** The account's sessions and API tokens that still work, oldest first. */
  async listTokens(userId: number): Promise<TokenInfo[]> {
    const now = this.now().getTime();
    return (await this.deps.accounts.listSessions(userId))
      .filter((s) => s.expiresAt === null || Date.parse(s.expiresAt) > now)
      .map((s) => ({ id: tokenId(s.tokenHash), kind: s.kind, name: s.name, createdAt: s.createdAt, expiresAt: s.expiresAt }));
  }

  /** Ends one session or API token of the account by its listed id (404 STW_ERR_TOKEN_NOT_FOUND). */
  async revokeToken(userId: number, id: string): Promise<void> {
    const match = (await this.deps.accounts.listSessions(userId)).find((s) => tokenId(s.tokenHash) === id);
    if (!match) throw new StoreTwinError('STW_ERR_TOKEN_NOT_FOUND', `no token "${id.slice(0, 32)}"`);
    await this.deps.accounts.deleteSession(match.tokenHash);
  }

  async listUsers(): Promise<PublicUser[]> {
    return (await this.deps.accounts.listUsers()).map(publicUser);
  }

  async getUser(id: number): Promise<PublicUser | null> {
    const rec = await this.deps.accounts.getUser(id);
    return rec ? publicUser(rec) : null;
  }

  /** Case-insensitive; null when there is no such account. */
  async findUser(username: string): Promise<PublicUser | null> {
    const rec = await this.deps.accounts.getUserByName(username);
    return rec ? publicUser(rec) : null;
  }

  async countUsers(): Promise<number> {
    return this.deps.accounts.countUsers();
  }

  /**
   * Refuses the last admin: without one nobody could manage users again, and setup only runs
   * on an empty user table.
   */
  async deleteUser(id: number): Promise<void> {
    const rec = await this.deps.accounts.getUser(id);
    if (!rec) throw new StoreTwinError('STW_ERR_USER_NOT_FOUND', `no user ${id}`);
    if (rec.role === 'admin' && (await this.adminCount()) <= 1) {
      throw new StoreTwinError('STW_ERR_LAST_ADMIN');
    }
    await this.deps.accounts.deleteUser(id);
  }

  private async adminCount(): Promise<number> {
    return (await this.deps.accounts.listUsers()).filter((u) => u.role === 'admin').length;
  }

  /**
   * Verifies the password and opens a session. Unknown users cost the same scrypt run as known
   * ones, so response time does not tell which usernames exist; both answer STW_ERR_AUTH_INVALID.
   */
  async login(username: string, password: string): Promise<LoginResult> {
    const rec = USERNAME_PATTERN.test(username) ? await this.deps.accounts.getUserByName(username) : null;
    // Over-long passwords are refused after the same work so the cap cannot be used as an oracle.
    const candidate = password.slice(0, PASSWORD_MAX + 1);
    const ok = await verifySecret(candidate, rec?.passwordHash ?? (await this.dummy()));
    if (!rec || !ok || password.length > PASSWORD_MAX) throw new StoreTwinError('STW_ERR_AUTH_INVALID');

    const token = newSecret();
    const now = this.now();
    const expiresAt = new Date(now.getTime() + this.sessionTtlMs).toISOString();
    await this.deps.accounts.insertSession({
      tokenHash: sha256Hex(token),
      userId: rec.id,
      kind: 'session',
      name: null,
      createdAt: now.toISOString(),
      expiresAt,
    });
    // Opportunistic cleanup: logins are rare enough that this costs nothing and keeps the table small.
    await this.deps.accounts.deleteExpiredSessions(now.toISOString());
    return { token, user: publicUser(rec), expiresAt };
  }

  /** The user a session or API token belongs to; null when unknown, expired or the user is gone. */
  async authenticate(token: string): Promise<PublicUser | null> {
    return (await this.authenticateToken(token))?.user ?? null;
  }

  /** The same, with the token's hash and expiry (live connections end when their token does). */
  async authenticateToken(token: string): Promise<AuthenticatedToken | null> {
    if (token.length === 0 || token.length > 512) return null;
    const tokenHash = sha256Hex(token);
    const session = await this.deps.accounts.getSession(tokenHash);
    if (!session) return null;
    if (session.expiresAt !== null && Date.parse(session.expiresAt) <= this.now().getTime()) {
      await this.deps.accounts.deleteSession(tokenHash);
      return null;
    }
    const rec = await this.deps.accounts.getUser(session.userId);
    return rec ? { user: publicUser(rec), tokenHash, expiresAt: session.expiresAt } : null;
  }

  /** Ends the session or revokes the API token presented; false if it was not known. */
  async logout(token: string): Promise<boolean> {
    return this.deps.accounts.deleteSession(sha256Hex(token));
  }

  /**
   * A long-lived bearer token for scripts and integrations, shown once. Without ttlDays it does
   * not expire; it is listed by `GET /api/auth/tokens` and revoked by
   * `DELETE /api/auth/tokens/{id}` (or by presenting it to `POST /api/auth/logout`).
   */
  async createApiToken(userId: number, name: string, ttlDays?: number): Promise<string> {
    const user = await this.deps.accounts.getUser(userId);
    if (!user) throw new StoreTwinError('STW_ERR_USER_NOT_FOUND', `no user ${userId}`);
    const parsed = z
      .object({
        name: z.string().trim().min(1).max(64),
        ttlDays: z.number().int().min(1).max(API_TOKEN_MAX_TTL_DAYS).optional(),
      })
      .safeParse({ name, ttlDays });
    if (!parsed.success) throw validation(parsed.error);
    const token = newSecret();
    const tokenHash = sha256Hex(token);
    const now = this.now();
    const days = parsed.data.ttlDays;
    // The token's broker password line (integrations log in to an external broker with it)
    // is stored with it, in one transaction.
    await this.deps.accounts.insertSession(
      {
      tokenHash,
      userId,
      kind: 'api',
      name: parsed.data.name,
      createdAt: now.toISOString(),
        expiresAt: days === undefined ? null : new Date(now.getTime() + days * 86_400_000).toISOString(),
      },
      brokerPasswordLine(user.username, tokenHash, token),
    );
    return token;
  }

  /** When a token expires (null = never), or undefined if the token is unknown. */
  async tokenExpiry(token: string): Promise<string | null | undefined> {
    return (await this.deps.accounts.getSession(sha256Hex(token)))?.expiresAt;
  }

  private dummy(): Promise<string> {
    this.dummyHash ??= hashSecret(newSecret());
    return this.dummyHash;
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }
}

/** Constant-time comparison of two hex digests (the setup token check). */
export function sameDigest(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}
