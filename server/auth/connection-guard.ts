/**
 * Live connections that a user's token opened — socket.io clients of the dashboard, MQTT
 * clients reading the alarm feed — are checked against the registry again every sweep
 * (500 ms by default). A connection is closed when its token no longer works (logout,
 * revocation, a password change, the user deleted, the token expired) or when the user's
 * role or sites changed (it was authorised for the old scope; the client reconnects and is
 * authorised for the new one).
 *
 * One sweep for every cause rather than an event per cause: the CLI changes the same
 * database from another process, and a re-check costs a hash and two indexed lookups
 * (a few µs on SQLite, a round trip or two on PostgreSQL). The checks of one sweep run one
 * after the other, and a sweep never starts while the previous one is still running.
 */
import type { AuthenticatedToken, PublicUser } from './users.ts';

export interface TokenAuthenticator {
  authenticateToken(token: string): Promise<AuthenticatedToken | null>;
}

interface Tracked {
  token: string;
  user: PublicUser;
  close: (reason: string) => void;
}

export const DEFAULT_SWEEP_MS = 500;

function sameScope(a: PublicUser, b: PublicUser): boolean {
  if (a.id !== b.id || a.role !== b.role || a.sites.length !== b.sites.length) return false;
  const sites = new Set(a.sites);
  return b.sites.every((s) => sites.has(s));
}

export class ConnectionGuard {
  private readonly tracked = new Set<Tracked>();
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<number> | null = null;

  constructor(private readonly deps: { users: TokenAuthenticator; intervalMs?: number }) {}

  /** Watches a connection; returns the function to call when it closes by itself. */
  track(token: string, user: PublicUser, close: (reason: string) => void): () => void {
    const entry: Tracked = { token, user, close };
    this.tracked.add(entry);
    return () => this.tracked.delete(entry);
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.sweep().catch(() => 0), this.deps.intervalMs ?? DEFAULT_SWEEP_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.tracked.clear();
  }

  /** Closes every connection whose token or scope changed; returns how many. */
  sweep(): Promise<number> {
    this.sweeping ??= this.sweepNow().finally(() => {
      this.sweeping = null;
    });
    return this.sweeping;
  }

  private async sweepNow(): Promise<number> {
    let closed = 0;
    for (const entry of [...this.tracked]) {
      const now = await this.deps.users.authenticateToken(entry.token);
      // Untracked meanwhile (it closed by itself, or stop()).
      if (!this.tracked.has(entry)) continue;
      const reason = now === null ? 'token revoked or expired' : sameScope(entry.user, now.user) ? null : 'role or sites changed';
      if (reason === null) continue;
      this.tracked.delete(entry);
      closed++;
      entry.close(reason);
    }
    return closed;
  }

  /** Connections watched (for tests and metrics). */
  size(): number {
    return this.tracked.size;
  }
}
