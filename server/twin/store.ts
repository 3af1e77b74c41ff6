/**
 * The twin's restart memory: the last known state of each device, written every few seconds
 * (Twin.persist) and read once at start. Implementations: sqlite-store.ts, postgres-store.ts;
 * the contract suite tests/twin/twin-store.contract.ts runs on both. A snapshot belongs to its
 * device: it goes when the device is deleted (ON DELETE CASCADE), and one for a device deleted
 * meanwhile is skipped rather than failing the batch.
 */
import type { DeviceStateSnapshot } from '../storage/types.ts';

export interface TwinStore {
  /** Upserts in one transaction; snapshots of devices no longer registered are skipped. */
  saveDeviceStates(states: readonly DeviceStateSnapshot[]): Promise<void>;
  /**
   * Every snapshot, by device id; with `updatedAfter` (ISO 8601), only those written strictly
   * after it (a worker reading what the holders of other sites wrote since its last look).
   */
  loadDeviceStates(opts?: { updatedAfter?: string }): Promise<DeviceStateSnapshot[]>;
}
