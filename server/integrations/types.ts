/**
 * The integrations' storage interface and records (server/integrations/sqlite-store.ts,
 * postgres-store.ts; createIntegrationStore picks one): the integrations themselves (settings,
 * token hash, counters), the devices they named that nobody registered yet, and the
 * retransmission keys of the last hour.
 *
 * Every method returns a promise. The push path never waits for this store per message:
 * IntegrationService keeps a view of the integrations in memory and defers its writes to one
 * `applyBatch` a second.
 */

export interface IntegrationRecord {
  id: string;
  adapter: string;
  site: string;
  name: string;
  settings: unknown;
  tokenHash: string;
  enabled: boolean;
  createdAt: string;
  updatedAt: string;
  lastMessageAt: string | null;
  counts: IntegrationCounts;
  lastError: { code: string; message: string; at: string } | null;
}

export interface IntegrationCounts {
  accepted: number;
  duplicates: number;
  unknown: number;
  refused: number;
}

export interface UnknownDevice {
  integration: string;
  ids: Record<string, string>;
  describe: Record<string, string> | null;
  firstSeen: string;
  lastSeen: string;
  messages: number;
}

/** Writes the push path defers to one transaction a second (IntegrationService.flush). */
export interface PendingWrites {
  counts: Map<string, IntegrationCounts & { at: number }>;
  keys: { device: string; key: string; at: number }[];
  unknown: { integration: string; ids: Record<string, string>; describe: Readonly<Record<string, string>> | undefined; at: number }[];
  /** Refusals of a whole push (or of a connector's fetch): each counts one refused, the last is the integration's last error. */
  errors: { integration: string; code: string; message: string; at: number }[];
}

export type NewIntegration = Omit<IntegrationRecord, 'createdAt' | 'updatedAt' | 'lastMessageAt' | 'counts' | 'lastError'>;

export interface IntegrationStore {
  /** Stores a new integration (created and updated now, counters zero). */
  insert(rec: NewIntegration): Promise<IntegrationRecord>;
  get(id: string): Promise<IntegrationRecord | null>;
  byTokenHash(hash: string): Promise<IntegrationRecord | null>;
  /** By site, then creation, then id. */
  list(): Promise<IntegrationRecord[]>;
  /** Null when there is no such integration. */
  update(id: string, patch: { name: string; settings: unknown; enabled: boolean }): Promise<IntegrationRecord | null>;
  /** Null when there is no such integration. */
  setTokenHash(id: string, tokenHash: string): Promise<IntegrationRecord | null>;
  /** Its unknown devices go with it; false when there was none. */
  remove(id: string): Promise<boolean>;
  /**
   * What the push path gathered since the last flush, in one transaction: counters added,
   * retransmission keys (a key seen again gets the later time), unknown devices (one row per
   * integration and ids, its messages counted), refusals. Rows of an integration removed
   * meanwhile are dropped, the rest is written.
   */
  applyBatch(batch: PendingWrites): Promise<void>;
  /** Most recently seen first (ties: integration, then ids). */
  listUnknown(): Promise<UnknownDevice[]>;
  forgetUnknown(integration: string, ids: Readonly<Record<string, string>>): Promise<void>;
  /** Retransmission keys stored since `sinceMs` (the dedupe window, rebuilt after a restart); older ones are deleted. */
  recentKeys(sinceMs: number): Promise<{ device: string; key: string; at: number }[]>;
  /**
   * Records the key at once, unless the device's key was already seen at or after `sinceMs`:
   * whether this call claimed it. Atomic: of two workers receiving the same push (a platform
   * retrying through the load balancer), exactly one gets true.
   */
  claimKey(device: string, key: string, at: number, sinceMs: number): Promise<boolean>;
  /** Gives a claimed key back (the message was refused, so a corrected retry must pass); only the claim made at `at`. */
  releaseKey(device: string, key: string, at: number): Promise<void>;
  /**
   * Hears integrations added, changed or removed through OTHER processes (PostgreSQL:
   * LISTEN/NOTIFY, each such write announced in its transaction; `site: null` after a lost
   * connection). Absent on SQLite: the server is the file's only writer of integrations (the CLI
   * does not create or change them). Resolves, once listening, to the unsubscribe.
   */
  onChange?(listener: (change: { site: string | null }) => void): Promise<() => void>;
}

/** The one canonical spelling of a set of platform ids: sorted `key=value` pairs. */
export function idsKey(ids: Readonly<Record<string, string>>): string {
  return Object.keys(ids)
    .sort()
    .map((k) => `${k}=${ids[k]}`)
    .join(';');
}

export function emptyPendingWrites(): PendingWrites {
  return { counts: new Map(), keys: [], unknown: [], errors: [] };
}

export function isEmptyBatch(batch: PendingWrites): boolean {
  return batch.counts.size === 0 && batch.keys.length === 0 && batch.unknown.length === 0 && batch.errors.length === 0;
}

/** A refusal's message as kept: at most 300 characters. */
export function lastErrorOf(e: PendingWrites['errors'][number]): IntegrationRecord['lastError'] {
  return { code: e.code, message: e.message.slice(0, 300), at: new Date(e.at).toISOString() };
}
