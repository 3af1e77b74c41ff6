/**
 * Mosquitto password-file lines, kept in SQLite (table broker_passwords, migration 7).
 *
 * The registry keeps only SHA-256 digests of device secrets and API tokens, and Mosquitto's
 * `$7$` hash must be derived from the plaintext, so the line is made the one time the plaintext
 * exists: when DeviceService issues a secret or UserService an API token (both are handed this
 * store as their IssuedSecrets). Every issue is recorded whatever broker runs today, so pointing
 * StoreTwin at Mosquitto later needs no secret rotation for devices registered meanwhile.
 *
 * A row is keyed by (username, verifier) — the verifier being what the registry keeps of that
 * secret — and counts only while the registry still has that verifier: a rotated secret's old
 * line simply stops matching, and a row written just before a crash that lost its device is
 * never used. Rows that match nothing are pruned once they are old enough not to belong to a
 * registration still under way in another process (the CLI writes here too).
 */
import type { Statement } from 'better-sqlite3';
import type { IssuedSecrets } from '../../auth/secrets.ts';
import type { Database } from '../../storage/sqlite/database.ts';
import { mosquittoPasswordHash } from './mosquitto-passwd.ts';

export interface BrokerPassword {
  username: string;
  verifier: string;
  /** `$7$…` as mosquitto_passwd writes it. */
  hash: string;
  createdAt: number;
}

interface Row {
  username: string;
  verifier: string;
  hash: string;
  created_at: number;
}

export class BrokerPasswordStore implements IssuedSecrets {
  private readonly insert: Statement<[string, string, string, number]>;
  private readonly all: Statement<[], Row>;
  private readonly remove: Statement<[string, string]>;
  private readonly stamp: Statement<[], { n: number; latest: number | null }>;
  private readonly insertMany: (entries: ReadonlyArray<{ username: string; verifier: string; secret: string }>) => void;

  constructor(
    db: Database,
    private readonly now: () => number = Date.now,
  ) {
    this.insert = db.prepare('INSERT OR REPLACE INTO broker_passwords (username, verifier, hash, created_at) VALUES (?, ?, ?, ?)');
    this.all = db.prepare('SELECT username, verifier, hash, created_at FROM broker_passwords ORDER BY username, created_at DESC');
    this.remove = db.prepare('DELETE FROM broker_passwords WHERE username = ? AND verifier = ?');
    this.stamp = db.prepare('SELECT count(*) AS n, max(created_at) AS latest FROM broker_passwords');
    this.insertMany = db.transaction((entries) => {
      for (const e of entries) this.issued(e.username, e.verifier, e.secret);
    });
  }

  issued(username: string, verifier: string, secret: string): void {
    this.insert.run(username, verifier, mosquittoPasswordHash(secret), this.now());
  }

  /** One commit for all: 5,000 devices of an import took 5 s as 5,000 commits. */
  issuedMany(entries: ReadonlyArray<{ username: string; verifier: string; secret: string }>): void {
    this.insertMany(entries);
  }

  /** Every recorded line, newest first per username. */
  list(): BrokerPassword[] {
    return this.all.all().map((r) => ({ username: r.username, verifier: r.verifier, hash: r.hash, createdAt: r.created_at }));
  }

  /** Changes whenever a line is added or removed (cheap: the files are rewritten when it does). */
  fingerprint(): string {
    const { n, latest } = this.stamp.get()!;
    return `${n}:${latest ?? 0}`;
  }

  /** Removes lines no current credential matches, once older than `graceMs`; returns how many. */
  prune(stale: readonly BrokerPassword[], graceMs: number): number {
    const cutoff = this.now() - graceMs;
    let removed = 0;
    for (const p of stale) if (p.createdAt < cutoff) removed += this.remove.run(p.username, p.verifier).changes;
    return removed;
  }
}
