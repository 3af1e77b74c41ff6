/**
 * The device directory: every registered device in memory, for the readers on hot paths — the
 * broker (per CONNECT and PUBLISH), ingest, the twin, the linker, integrations, history,
 * footfall and the overview. Reads are synchronous map lookups; nothing per message goes to
 * the database.
 *
 * What it holds: each DeviceRecord by id, an index by (platform, external id), and the id-ordered
 * list allDevices() hands out. Who keeps it fresh:
 * - load() at start, from the DeviceStore;
 * - DeviceService (API, CSV import, CLI, demo seeding, the broker's re-hash of a legacy secret)
 *   puts or removes a device right after the store committed it;
 * - lookup() of an unknown id (a device CONNECTing) reads that one device from the store, so a
 *   device added by `storetwin device add` beside a running server connects at once;
 * - every pollMs (start()), the store's version(): when another process (the CLI, another
 *   worker) wrote devices, the whole directory is reloaded, so a secret rotated or a device
 *   removed elsewhere stops working within that delay; on PostgreSQL another worker's write is
 *   also announced (LISTEN/NOTIFY) and heard within about a second.
 */
import type { DeviceRecord } from '../storage/types.ts';
import type { DeviceStore } from './store.ts';

/** The synchronous device reads hot paths use; DeviceDirectory implements it. */
export interface DeviceLookup {
  getDevice(id: string): DeviceRecord | null;
  /** Every device, in id order (a fresh array; the records are shared: do not mutate them). */
  allDevices(): DeviceRecord[];
  /** The devices of one site, in id order (a fresh array), without walking every device. */
  devicesOfSite(site: string): DeviceRecord[];
  findDeviceByExternalId(platform: string, externalId: string): DeviceRecord | null;
}

const DEFAULT_POLL_MS = 5000;

export class DeviceDirectory implements DeviceLookup {
  private byId = new Map<string, DeviceRecord>();
  /** `platform\0externalId` → device id. */
  private byExternal = new Map<string, string>();
  /** allDevices() in id order, rebuilt on the first read after a change. */
  private sorted: DeviceRecord[] | null = null;
  /** site → its devices in id order; built from `sorted` when first asked, dropped with it. */
  private bySite: Map<string, DeviceRecord[]> | null = null;
  /** The store's version the contents reflect (-1: never loaded). */
  private loadedVersion = -1;
  private timer: NodeJS.Timeout | null = null;
  private refreshing: Promise<void> | null = null;
  private offChange: (() => void) | null = null;

  constructor(private readonly store: DeviceStore) {}

  /** Reads every device from the store (start-up, or after another process changed some). */
  async load(): Promise<void> {
    // The version first: a write landing between the two reads moves it again, so the next
    // poll reloads rather than keeping what this read missed.
    const version = await this.store.version();
    const all = await this.store.all();
    this.byId = new Map(all.map((d) => [d.id, d]));
    this.byExternal = new Map(all.flatMap((d) => Object.entries(d.externalIds).map(([p, x]) => [externalKey(p, x), d.id] as [string, string])));
    this.sorted = all;
    this.bySite = null;
    this.loadedVersion = version;
  }

  /**
   * Polls the store's version every `pollMs` and reloads when it moved; where the store tells of
   * other workers' writes (PostgreSQL), also at once when it does.
   */
  async start(pollMs = DEFAULT_POLL_MS): Promise<void> {
    this.stop();
    this.timer = setInterval(() => void this.refresh().catch(() => {}), pollMs);
    this.timer.unref();
    const off = await this.store.onChange?.(() => void this.refreshSoon());
    if (off) this.offChange = off;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.offChange?.();
    this.offChange = null;
  }

  /**
   * A refresh that starts after any under way: that one may have read the version before the
   * write it was told of committed.
   */
  private refreshSoon(): Promise<void> {
    const after = (this.refreshing ?? Promise.resolve()).catch(() => {});
    return after.then(() => this.refresh()).catch(() => {});
  }

  /** Reloads when the store changed since the last load; one at a time. */
  refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      try {
        if ((await this.store.version()) !== this.loadedVersion) await this.load();
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  get size(): number {
    return this.byId.size;
  }

  getDevice(id: string): DeviceRecord | null {
    return this.byId.get(id) ?? null;
  }

  allDevices(): DeviceRecord[] {
    return [...this.inIdOrder()];
  }

  devicesOfSite(site: string): DeviceRecord[] {
    if (!this.bySite) {
      this.bySite = new Map();
      for (const d of this.inIdOrder()) {
        const list = this.bySite.get(d.site);
        if (list) list.push(d);
        else this.bySite.set(d.site, [d]);
      }
    }
    return [...(this.bySite.get(site) ?? [])];
  }

  private inIdOrder(): readonly DeviceRecord[] {
    this.sorted ??= [...this.byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return this.sorted;
  }

  findDeviceByExternalId(platform: string, externalId: string): DeviceRecord | null {
    const id = this.byExternal.get(externalKey(platform, externalId));
    return id === undefined ? null : this.getDevice(id);
  }

  /**
   * The device, from memory or else from the store (for a login: a device just added by
   * another process). A device found in the store is remembered.
   */
  async lookup(id: string): Promise<DeviceRecord | null> {
    const known = this.byId.get(id);
    if (known) return known;
    const stored = await this.store.get(id);
    if (stored && !this.byId.has(id)) this.put(stored);
    return this.byId.get(id) ?? null;
  }

  /** After a committed write: the device as stored now. */
  put(rec: DeviceRecord): void {
    const old = this.byId.get(rec.id);
    if (old) for (const [p, x] of Object.entries(old.externalIds)) this.byExternal.delete(externalKey(p, x));
    this.byId.set(rec.id, rec);
    for (const [p, x] of Object.entries(rec.externalIds)) this.byExternal.set(externalKey(p, x), rec.id);
    this.sorted = null;
    this.bySite = null;
  }

  /** After a committed delete. */
  remove(id: string): void {
    const old = this.byId.get(id);
    if (!old) return;
    for (const [p, x] of Object.entries(old.externalIds)) {
      if (this.byExternal.get(externalKey(p, x)) === id) this.byExternal.delete(externalKey(p, x));
    }
    this.byId.delete(id);
    this.sorted = null;
    this.bySite = null;
  }
}

function externalKey(platform: string, externalId: string): string {
  return `${platform}\u0000${externalId}`;
}
