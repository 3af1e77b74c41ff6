/**
 * Registers devices: validates them against the site model and the device catalogue, issues
 * the MQTT secret (returned once, stored only as a hash), and announces the change on the bus
 * so the twin adds the device and the broker drops sessions of removed devices. Each issued
 * secret's broker password line is made while its plaintext exists and stored with the device
 * in one transaction (server/broker/external/password-store.ts).
 *
 * Every device write goes through here, and here the DeviceDirectory (directory.ts) the hot
 * paths read is updated, right after the store committed the write.
 */
import { z } from 'zod';
import { getDeviceType } from '../../devices/index.ts';
import { StoreTwinError } from '../errors.ts';
import type { EventBus } from '../events.ts';
import { hashMachineSecret, newSecret } from '../auth/secrets.ts';
import type { AccountStore } from '../auth/store.ts';
import { brokerPasswordLine } from '../broker/external/password-store.ts';
import { ID_PATTERN } from '../sites/model.ts';
import type { DeviceListQuery, DeviceRecord } from '../storage/types.ts';
import type { DeviceDirectory } from './directory.ts';
import type { DevicePage, DeviceStore } from './store.ts';
import { normalizeExternalId } from './external-ids.ts';
import { EXTERNAL_ID_PLATFORMS, type DeviceInput, type DeviceRegistrar, type DeviceUpdate, type PublicDevice } from './types.ts';

/** What the registrar needs to know of the site model. SiteCatalog satisfies it. */
export interface SiteDirectory {
  get(siteId: string): unknown;
  zone(siteId: string, zoneId: string): unknown;
}

// partialRecord: a device has ids on some platforms, not all (z.record with an enum key requires every key).
const externalIdsSchema = z
  .partialRecord(z.enum(EXTERNAL_ID_PLATFORMS), z.string().min(1).max(128))
  // One spelling per id (a MAC in any form, an IMEI's digits), so platforms' messages match.
  .transform((ids) => Object.fromEntries(Object.entries(ids).map(([k, v]) => [k, normalizeExternalId(k, v)])));

export const deviceInputSchema = z.object({
  id: z.string().regex(ID_PATTERN, 'must be lowercase letters, digits and dashes ([a-z0-9-]+)'),
  site: z.string().regex(ID_PATTERN),
  type: z.string().min(1),
  zone: z.string().regex(ID_PATTERN),
  label: z.string().trim().min(1).max(80).nullish(),
  position: z.tuple([z.number().finite(), z.number().finite(), z.number().finite()]).nullish(),
  externalIds: externalIdsSchema.optional(),
});

export const deviceUpdateSchema = z
  .object({
    zone: z.string().regex(ID_PATTERN),
    label: z.string().trim().min(1).max(80).nullable(),
    position: z.tuple([z.number().finite(), z.number().finite(), z.number().finite()]).nullable(),
    externalIds: externalIdsSchema,
    enabled: z.boolean(),
  })
  .partial()
  .strict();

export function toPublicDevice(rec: DeviceRecord): PublicDevice {
  const { secretHash: _secretHash, ...device } = rec;
  return device;
}

export interface DeviceServiceDeps {
  store: DeviceStore;
  /** Updated after every write made here. */
  directory: DeviceDirectory;
  /** Device ids and account names share the MQTT username space. */
  accounts: Pick<AccountStore, 'getUserByName'>;
  sites: SiteDirectory;
  bus: EventBus;
  now?: () => Date;
}

export class DeviceService implements DeviceRegistrar {
  constructor(private readonly deps: DeviceServiceDeps) {}

  async register(input: DeviceInput): Promise<{ device: PublicDevice; secret: string }> {
    const [registered] = await this.registerMany([input]);
    return registered!;
  }

  /**
   * Several devices, all or none (a CSV import): each is checked as register() checks it, then
   * all are stored with their broker password lines in one store call. The first refusal
   * throws and stores nothing; csv-import.ts checks every row first so that a technician hears
   * of all problems at once, this is the guard behind it.
   */
  async registerMany(inputs: readonly DeviceInput[]): Promise<Array<{ device: PublicDevice; secret: string }>> {
    const prepared: Array<{ record: DeviceRecord; secret: string }> = [];
    for (const input of inputs) prepared.push(await this.prepare(input));
    const at = Date.now();
    await this.deps.store.register(
      prepared.map((p) => p.record),
      prepared.map(({ record, secret }) => brokerPasswordLine(record.id, record.secretHash, secret, at)),
    );
    for (const { record } of prepared) this.deps.directory.put(record);
    const devices = prepared.map(({ record }) => toPublicDevice(record));
    for (const device of devices) this.deps.bus.emit('device.registered', device);
    return devices.map((device, i) => ({ device, secret: prepared[i]!.secret }));
  }

  /** A page of devices in id order, from the store (the API's and CLI's listings). */
  list(q: DeviceListQuery): Promise<DevicePage> {
    return this.deps.store.list(q);
  }

  /** Validates a registration (site, zone, type exist; id free) and makes its record and secret. */
  private async prepare(input: DeviceInput): Promise<{ record: DeviceRecord; secret: string }> {
    const parsed = deviceInputSchema.safeParse(input);
    if (!parsed.success) {
      throw new StoreTwinError('STW_ERR_VALIDATION', z.prettifyError(parsed.error), parsed.error.issues);
    }
    const value = parsed.data;
    this.checkPlacement(value.site, value.zone);
    if (!getDeviceType(value.type)) {
      throw new StoreTwinError('STW_ERR_DEVICE_TYPE_UNKNOWN', `unknown device type "${value.type}"`);
    }
    // Only spares work: the store's primary key settles a race with another process.
    if (this.deps.directory.getDevice(value.id)) {
      throw new StoreTwinError('STW_ERR_DEVICE_EXISTS', `device "${value.id}" already exists`);
    }
    // Device ids and account names share the MQTT username space: keep them apart.
    if (await this.deps.accounts.getUserByName(value.id)) {
      throw new StoreTwinError('STW_ERR_DEVICE_ID_UNAVAILABLE', `"${value.id}" cannot be used: choose another id`);
    }
    const secret = newSecret();
    const at = this.now();
    const record: DeviceRecord = {
      id: value.id,
      site: value.site,
      type: value.type,
      zone: value.zone,
      label: value.label ?? null,
      position: value.position ?? null,
      externalIds: value.externalIds ?? {},
      secretHash: hashMachineSecret(secret),
      enabled: true,
      createdAt: at,
      updatedAt: at,
    };
    return { record, secret };
  }

  async update(id: string, patch: DeviceUpdate): Promise<PublicDevice> {
    const parsed = deviceUpdateSchema.safeParse(patch);
    if (!parsed.success) {
      throw new StoreTwinError('STW_ERR_VALIDATION', z.prettifyError(parsed.error), parsed.error.issues);
    }
    const current = await this.require(id);
    if (parsed.data.zone !== undefined) this.checkPlacement(current.site, parsed.data.zone);
    const updated = await this.deps.store.update(id, parsed.data);
    if (!updated) return this.gone(id);
    this.deps.directory.put(updated);
    const device = toPublicDevice(updated);
    this.deps.bus.emit('device.updated', device);
    return device;
  }

  async rotateSecret(id: string): Promise<{ device: PublicDevice; secret: string }> {
    await this.require(id);
    const secret = newSecret();
    const secretHash = hashMachineSecret(secret);
    const updated = await this.deps.store.update(id, { secretHash }, [brokerPasswordLine(id, secretHash, secret)]);
    if (!updated) return this.gone(id);
    this.deps.directory.put(updated);
    const device = toPublicDevice(updated);
    this.deps.bus.emit('device.updated', device);
    return { device, secret };
  }

  /**
   * The broker's re-hash of a secret still stored as scrypt, at the device's login: nothing a
   * reader of the bus cares about changed, so nothing is announced.
   */
  async rehashSecret(id: string, secretHash: string): Promise<DeviceRecord | null> {
    const updated = await this.deps.store.update(id, { secretHash });
    if (updated) this.deps.directory.put(updated);
    return updated;
  }

  async remove(id: string): Promise<void> {
    const current = await this.require(id);
    await this.deps.store.delete(id);
    this.deps.directory.remove(id);
    this.deps.bus.emit('device.removed', toPublicDevice(current));
  }

  private async require(id: string): Promise<DeviceRecord> {
    const rec = await this.deps.directory.lookup(id);
    if (!rec) throw new StoreTwinError('STW_ERR_DEVICE_NOT_FOUND', `no device "${id}"`);
    return rec;
  }

  /** Removed meanwhile (by another process): the directory forgets it too. */
  private gone(id: string): never {
    this.deps.directory.remove(id);
    throw new StoreTwinError('STW_ERR_DEVICE_NOT_FOUND', `no device "${id}"`);
  }

  private checkPlacement(site: string, zone: string): void {
    if (!this.deps.sites.get(site)) throw new StoreTwinError('STW_ERR_SITE_NOT_FOUND', `no site "${site}"`);
    if (!this.deps.sites.zone(site, zone)) {
      throw new StoreTwinError('STW_ERR_ZONE_NOT_FOUND', `site "${site}" has no zone "${zone}"`);
    }
  }

  private now(): string {
    return (this.deps.now?.() ?? new Date()).toISOString();
  }
}
