/**
 * Storage interfaces. The event store (time series: device events) has one contract suite
 * (tests/storage/event-store.contract.ts) that every implementation passes: SQLite
 * (server/storage/sqlite/) and InfluxDB 1.x (server/storage/influx/). What must be
 * transactional has a small store per feature, on SQLite or PostgreSQL (StorageBackend):
 * devices (server/registry/store.ts), accounts (server/auth/store.ts), settings
 * (server/settings/store.ts), twin snapshots (server/twin/store.ts)… The record types they
 * share are here.
 */
import type { DeviceEvent } from '../../devices/types.ts';

/**
 * Connectivity as recorded in the event history: a device's own `status` message (including
 * its last will) or the broker seeing it connect/disconnect. Not a device-type event.
 */
export interface StatusEvent {
  type: 'status';
  online: boolean;
  /**
   * `device` = the device said so (status topic / last will); `broker` = (dis)connection seen;
   * `platform` = the carrier platform it reports through said so (CTWing, OneNET).
   */
  source: 'device' | 'broker' | 'platform';
}

export type RecordedEvent = DeviceEvent | StatusEvent;

export interface StoredEvent {
  /**
   * Store-assigned, unique among the store's events, a safe integer. Nothing more: it need not
   * grow with insertion or with ts, and pages are not ordered by it (see EventStore.query).
   */
  id: number;
  site: string;
  device: string;
  deviceType: string;
  zone: string;
  /** Event type (`door`, `heartbeat`, …). */
  type: string;
  seq: number | null;
  /** When it happened: the device's `ts` when present and plausible, else `receivedAt`. ISO 8601. */
  ts: string;
  /** When the server received it. ISO 8601 with milliseconds. */
  receivedAt: string;
  data: RecordedEvent;
}

export type NewEvent = Omit<StoredEvent, 'id'>;

export interface EventQuery {
  site?: string;
  device?: string;
  zone?: string;
  type?: string;
  /** Inclusive, ISO 8601, compared with `ts`. */
  from?: string;
  /** Exclusive, ISO 8601, compared with `ts`. */
  to?: string;
  /** 1..1000 */
  limit: number;
  /** A previous page's `nextCursor`, opaque: valid for the same store and the same query. */
  cursor?: string;
  /** `desc` (newest first) is the default. */
  order?: 'asc' | 'desc';
}

export interface EventPage {
  items: StoredEvent[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

export interface EventStore {
  readonly kind: string;
  /**
   * Rows per page a long scan (server/history/scan.ts) should ask for, when the store's best
   * differs from the scan's default: InfluxDB pays ~30–45 ms a query over a site's series
   * whatever the page size, so it wants full pages.
   */
  readonly scanPageSize?: number;
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * Stores the batch, all or nothing: the whole batch is validated and converted before
   * anything is written, so a bad event (a timestamp that is not ISO 8601…) refuses the batch
   * with nothing stored. Events never overwrite each other, whatever they share (device, ts to
   * the millisecond, content). Resolves only once the batch would survive a crash (power loss
   * for SQLite with synchronous=FULL; InfluxDB's 204 after its WAL write): ingest acknowledges
   * QoS 1 on this.
   */
  append(events: readonly NewEvent[]): Promise<void>;
  /**
   * One page of matching events, ordered by ts (`desc`: newest first), events with equal ts in
   * an order the store chooses (its tie-breaker) that is the same for every query: `desc` is
   * exactly `asc` reversed. Keyset pages: following `nextCursor` visits every matching event
   * exactly once, and events appended meanwhile never make a page skip or repeat one (they
   * show up in a later page or not at all). Refuses a limit outside 1..MAX_QUERY_LIMIT
   * (server/storage/paging.ts), a bad time or a cursor it did not issue with STW_ERR_VALIDATION.
   */
  query(q: EventQuery): Promise<EventPage>;
  /**
   * (device, seq) pairs received at or after `since` (by receive time, not ts), oldest first,
   * events without seq left out: rebuilds ingest's dedupe window after a restart.
   */
  recentSeqs(since: string): Promise<Array<{ device: string; seq: number; receivedAt: string }>>;
}

export type Role = 'admin' | 'manager' | 'operator' | 'technician';
export const ROLES: readonly Role[] = ['admin', 'manager', 'operator', 'technician'];

export interface DeviceRecord {
  id: string;
  site: string;
  type: string;
  zone: string;
  label: string | null;
  /** Metres [x, y, z]; null = the zone's centroid. */
  position: [number, number, number] | null;
  /** Platform name → the device's id there (`imei`, `ctwing`, `onenet`, `hikvision`, `axis`, `frigate`). */
  externalIds: Record<string, string>;
  /** scrypt hash of the MQTT secret (see server/auth/secrets.ts); never leaves the server. */
  secretHash: string;
  enabled: boolean;
  createdAt: string;
  updatedAt: string;
}

export type DevicePatch = Partial<Pick<DeviceRecord, 'zone' | 'label' | 'position' | 'externalIds' | 'enabled' | 'secretHash'>>;

export interface DeviceListQuery {
  site?: string;
  type?: string;
  zone?: string;
  limit: number;
  /** The last id of the previous page. */
  cursor?: string;
}

export interface UserRecord {
  id: number;
  username: string;
  role: Role;
  /** Sites this user may see; empty = all sites. */
  sites: string[];
  passwordHash: string;
  createdAt: string;
}

/**
 * A Mosquitto password-file line for a machine secret (a device's, an API token's), made the one
 * time its plaintext exists and written with the device or token it belongs to
 * (server/broker/external/password-store.ts).
 */
export interface BrokerPassword {
  username: string;
  verifier: string;
  /** `$7$…` as mosquitto_passwd writes it. */
  hash: string;
  /** Unix ms. */
  createdAt: number;
}

/** What a store writes beside the device or token it belongs to. */
export type BrokerPasswordLine = BrokerPassword;

export interface SessionRecord {
  /** sha256 of the bearer token, hex; the token itself is never stored. */
  tokenHash: string;
  userId: number;
  kind: 'session' | 'api';
  name: string | null;
  createdAt: string;
  expiresAt: string | null;
}

/** The twin's last known state of one device, persisted so a restart resumes it. */
export interface DeviceStateSnapshot {
  device: string;
  state: Record<string, unknown>;
  updatedAt: string;
}
