/**
 * Where accounts are kept: users, their sessions and API tokens (a token is stored only as its
 * sha256). Implementations: sqlite-store.ts and postgres-store.ts; the contract suite
 * tests/auth/account-store.contract.ts runs on both. Read per HTTP request and per socket
 * check, never per MQTT message (a user's broker login reads its token once per CONNECT).
 */
import type { BrokerPasswordLine, SessionRecord, UserRecord } from '../storage/types.ts';

export type NewUserRecord = Omit<UserRecord, 'id' | 'createdAt'>;
export type UserPatch = Partial<Pick<UserRecord, 'role' | 'sites' | 'passwordHash'>>;

export interface AccountStore {
  /** STW_ERR_USER_EXISTS when the name is taken, whatever its case (two workers racing: one wins). */
  insertUser(user: NewUserRecord): Promise<UserRecord>;
  getUser(id: number): Promise<UserRecord | null>;
  /** Case-insensitive. */
  getUserByName(username: string): Promise<UserRecord | null>;
  /** By id. */
  listUsers(): Promise<UserRecord[]>;
  countUsers(): Promise<number>;
  /** Null when there is no such user. */
  updateUser(id: number, patch: UserPatch): Promise<UserRecord | null>;
  /** A new password hash and the end of every session and API token of the account, in one transaction. */
  setPassword(id: number, passwordHash: string): Promise<UserRecord | null>;
  /** With their sessions and API tokens. */
  deleteUser(id: number): Promise<boolean>;

  /**
   * Stores a session or API token, and the broker password line of an API token in the same
   * transaction. STW_ERR_USER_NOT_FOUND when the user is gone (nothing is stored).
   */
  insertSession(s: SessionRecord, brokerPassword?: BrokerPasswordLine): Promise<void>;
  /** Even when expired: the caller compares expiresAt with its clock. */
  getSession(tokenHash: string): Promise<SessionRecord | null>;
  deleteSession(tokenHash: string): Promise<boolean>;
  /** Deletes sessions whose expiresAt is at or before `now` (expiry is exclusive); never those without one. */
  deleteExpiredSessions(now: string): Promise<number>;
  /** A user's sessions and API tokens (expired ones too), oldest first (ties by token hash). */
  listSessions(userId: number): Promise<SessionRecord[]>;
  /** Ends every session and API token of a user; returns how many. */
  deleteUserSessions(userId: number): Promise<number>;
}
