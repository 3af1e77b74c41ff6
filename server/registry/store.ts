/**
 * Where devices are kept: the device itself, its external ids (one device per id and platform,
 * enforced by the database) and, written in the same transaction, the broker password lines of
 * the secrets issued to it (server/broker/external/password-store.ts). Implementations:
 * sqlite-store.ts (the single box) and postgres-store.ts (workers sharing PostgreSQL); the
 * contract suite tests/registry/device-store.contract.ts runs on both.
 *
 * Nothing on a hot path reads this store: the broker, ingest, the twin and the readers use the
 * in-memory DeviceDirectory (directory.ts), loaded from here at start and kept fresh by every
 * write made through DeviceService.
 */
import { StoreTwinError } from '../errors.ts';
import type { BrokerPasswordLine, DeviceListQuery, DevicePatch, DeviceRecord } from '../storage/types.ts';

/** Same bound as event pages: an API page of devices stays small. */
export const MAX_DEVICE_PAGE = 1000;

export interface DevicePage {
  items: DeviceRecord[];
  /** The last id of this page when there is another; null on the last page. */
  nextCursor: string | null;
}

export interface DeviceStore {
  /**
   * Stores the devices and the password lines in one transaction, all or none.
   * STW_ERR_DEVICE_EXISTS (the first taken id, in the order given; an id given twice is taken
   * by its first occurrence) or STW_ERR_EXTERNAL_ID_TAKEN (detail: platform, externalId) store
   * nothing. Two workers registering one id at once: one wins, the other gets DEVICE_EXISTS.
   */
  register(devices: readonly DeviceRecord[], passwords?: readonly BrokerPasswordLine[]): Promise<void>;
  get(id: string): Promise<DeviceRecord | null>;
  /** Keyset pages in id order (byte order). STW_ERR_VALIDATION for a limit outside 1..MAX_DEVICE_PAGE. */
  list(q: DeviceListQuery): Promise<DevicePage>;
  /** Every device, in id order. */
  all(): Promise<DeviceRecord[]>;
  findByExternalId(platform: string, externalId: string): Promise<DeviceRecord | null>;
  /**
   * Applies the patch (undefined = not given; externalIds replaces the whole set), sets
   * updatedAt, and stores `passwords` (a rotated secret's line), all in one transaction: an
   * external id taken by another device (STW_ERR_EXTERNAL_ID_TAKEN) changes nothing. Null when
   * there is no such device.
   */
  update(id: string, patch: DevicePatch, passwords?: readonly BrokerPasswordLine[]): Promise<DeviceRecord | null>;
  /** With its external ids and twin snapshot. False when there was none. */
  delete(id: string): Promise<boolean>;
  /**
   * A number that changes with every committed device write, whichever process made it: the
   * directory reloads when it moves (a device added by the CLI beside a running server, later
   * another worker's change).
   */
  version(): Promise<number>;
  /**
   * Calls `listener` soon after another worker committed a device write (PostgreSQL: LISTEN/
   * NOTIFY), so the directory need not wait for its next poll; the unsubscribe. Absent where
   * the poll is all there is (SQLite: the CLI beside the server).
   */
  onChange?(listener: () => void): Promise<() => void>;
}

export function checkDevicePageLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_DEVICE_PAGE) {
    throw new StoreTwinError('STW_ERR_VALIDATION', `limit must be an integer in 1..${MAX_DEVICE_PAGE}`, { limit });
  }
}

/** `{ label: undefined }` in a patch means "not given", not "set to undefined". */
export function definedOnly<T extends object>(patch: T): Partial<T> {
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The first id already taken in `ids` (an id repeated in `ids` counts as taken), in the order given. */
export function firstDuplicate(ids: readonly string[], inserted: ReadonlySet<string>): string | undefined {
  const seen = new Set<string>();
  for (const id of ids) {
    if (!inserted.has(id) || seen.has(id)) return id;
    seen.add(id);
  }
  return undefined;
}
