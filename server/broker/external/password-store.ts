/**
 * Mosquitto password-file lines (table broker_passwords: SQLite migration 7, PostgreSQL
 * BROKER_PASSWORDS_PG_SCHEMA).
 *
 * The registry keeps only SHA-256 digests of device secrets and API tokens, and Mosquitto's
 * `$7$` hash must be derived from the plaintext, so the line is made the one time the plaintext
 * exists (brokerPasswordLine): when DeviceService issues a secret or UserService an API token.
 * The line is written by the same store call, in the same transaction, as the device or token
 * it belongs to (DeviceStore.register/update, AccountStore.insertSession), so no broker ever
 * sees a device without its line and no line outlives a refused registration. Every issue is
 * recorded whatever broker runs today, so pointing StoreTwin at Mosquitto later needs no secret
 * rotation for devices registered meanwhile.
 *
 * A row is keyed by (username, verifier) — the verifier being what the registry keeps of that
 * secret — and counts only while the registry still has that verifier: a rotated secret's old
 * line simply stops matching. Rows that match nothing are pruned once they are old enough not
 * to belong to a registration still under way in another process (the CLI writes here too).
 * This store only reads and prunes; MosquittoSync is its one user.
 */
import type { BrokerPassword, BrokerPasswordLine } from '../../storage/types.ts';
import { mosquittoPasswordHash } from './mosquitto-passwd.ts';

export type { BrokerPassword, BrokerPasswordLine } from '../../storage/types.ts';

/** The line for a secret just issued (its plaintext exists only now). */
export function brokerPasswordLine(username: string, verifier: string, secret: string, now: number = Date.now()): BrokerPasswordLine {
  return { username, verifier, hash: mosquittoPasswordHash(secret), createdAt: now };
}

export interface BrokerPasswordStore {
  /** Every recorded line, by username, newest first per username (ties by verifier). */
  list(): Promise<BrokerPassword[]>;
  /** Changes whenever a line is added or removed (cheap: the files are rewritten when it does). */
  fingerprint(): Promise<string>;
  /** Removes the given lines (no current credential matches them) once older than `graceMs`; returns how many. */
  prune(stale: readonly BrokerPassword[], graceMs: number): Promise<number>;
}
