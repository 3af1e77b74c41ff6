/**
 * Registers devices: validates them against the site model and the device catalogue, issues
 * the MQTT secret (returned once, stored only as a hash), and announces the change on the bus
 * so the twin adds the device and the broker drops sessions of removed devices. Each issued
 * secret is also handed to `issuedSecrets` while its plaintext exists, for an external
 * broker's password file (server/broker/external/password-store.ts).
 */
import { z } from 'zod';
import { getDeviceType } from '../../devices/index.ts';
import { StoreTwinError } from '../errors.ts';
import type { EventBus } from '../events.ts';
import { hashMachineSecret, newSecret, type IssuedSecrets } from '../auth/secrets.ts';
import { ID_PATTERN } from '../sites/model.ts';
import type { DeviceRecord, Registry } from '../storage/types.ts';
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

export class DeviceService implements DeviceRegistrar {
  constructor(
    private readonly deps: {
      registry: Registry;
      sites: SiteDirectory;
      bus: EventBus;
      now?: () => Date;
      /** Told of every secret issued (Mosquitto's password file is derived from it). */
      issuedSecrets?: IssuedSecrets;
    },
  ) {}

  async register(input: DeviceInput): Promise<{ device: PublicDevice; secret: string }> {
    const { record, secret } = this.prepare(input);
    // Recorded before the device exists, so no broker ever sees the device without it; a
    // record whose device never came to be matches no secret hash and is pruned.
    this.deps.issuedSecrets?.issued(record.id, record.secretHash, secret);
    this.deps.registry.insertDevice(record);
    const device = toPublicDevice(record);
    this.deps.bus.emit('device.registered', device);
    return { device, secret };
  }

  /**
   * Several devices, all or none (a CSV import): each is checked as register() checks it, then
   * all are stored in one transaction, with `alsoInTransaction` (their audit entries) inside it.
   * The first refusal throws and stores nothing; csv-import.ts checks every row first so that
   * a technician hears of all problems at once, this is the guard behind it.
   */
  registerMany(inputs: readonly DeviceInput[], alsoInTransaction?: (devices: PublicDevice[]) => void): Array<{ device: PublicDevice; secret: string }> {
    const prepared = inputs.map((input) => this.prepare(input));
    this.deps.issuedSecrets?.issuedMany(prepared.map(({ record, secret }) => ({ username: record.id, verifier: record.secretHash, secret })));
    const devices = prepared.map(({ record }) => toPublicDevice(record));
    this.deps.registry.insertDevices(
      prepared.map((p) => p.record),
      () => alsoInTransaction?.(devices),
    );
    for (const device of devices) this.deps.bus.emit('device.registered', device);
    return devices.map((device, i) => ({ device, secret: prepared[i]!.secret }));
  }

  /** Validates a registration (site, zone, type exist; id free) and makes its record and secret. */
  private prepare(input: DeviceInput): { record: DeviceRecord; secret: string } {
    const parsed = deviceInputSchema.safeParse(input);
    if (!parsed.success) {
      throw new StoreTwinError('STW_ERR_VALIDATION', z.prettifyError(parsed.error), parsed.error.issues);
    }
    const value = parsed.data;
    this.checkPlacement(value.site, value.zone);
    if (!getDeviceType(value.type)) {
      throw new StoreTwinError('STW_ERR_DEVICE_TYPE_UNKNOWN', `unknown device type "${value.type}"`);
    }
    if (this.deps.registry.getDevice(value.id)) {
      throw new StoreTwinError('STW_ERR_DEVICE_EXISTS', `device "${value.id}" already exists`);
    }
    // Device ids and account names share the MQTT username space: keep them apart.
    if (this.deps.registry.getUserByName(value.id)) {
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

  update(id: string, patch: DeviceUpdate): PublicDevice {
    const parsed = deviceUpdateSchema.safeParse(patch);
    if (!parsed.success) {
      throw new StoreTwinError('STW_ERR_VALIDATION', z.prettifyError(parsed.error), parsed.error.issues);
    }
    const current = this.require(id);
    if (parsed.data.zone !== undefined) this.checkPlacement(current.site, parsed.data.zone);
    const updated = this.deps.registry.updateDevice(id, parsed.data);
    if (!updated) throw new StoreTwinError('STW_ERR_DEVICE_NOT_FOUND', `no device "${id}"`);
    const device = toPublicDevice(updated);
    this.deps.bus.emit('device.updated', device);
    return device;
  }

  async rotateSecret(id: string): Promise<{ device: PublicDevice; secret: string }> {
    this.require(id);
    const secret = newSecret();
    const secretHash = hashMachineSecret(secret);
    this.deps.issuedSecrets?.issued(id, secretHash, secret);
    const updated = this.deps.registry.updateDevice(id, { secretHash });
    if (!updated) throw new StoreTwinError('STW_ERR_DEVICE_NOT_FOUND', `no device "${id}"`);
    const device = toPublicDevice(updated);
    this.deps.bus.emit('device.updated', device);
    return { device, secret };
  }

  remove(id: string): void {
    const current = this.require(id);
    this.deps.registry.deleteDevice(id);
    this.deps.bus.emit('device.removed', toPublicDevice(current));
  }

  private require(id: string): DeviceRecord {
    const rec = this.deps.registry.getDevice(id);
    if (!rec) throw new StoreTwinError('STW_ERR_DEVICE_NOT_FOUND', `no device "${id}"`);
    return rec;
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
