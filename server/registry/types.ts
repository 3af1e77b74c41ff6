/**
 * Device registration as the API and CLI see it. DeviceService (server/registry/devices.ts)
 * implements it: it issues the MQTT secret, stores only its hash, keeps the twin and the
 * broker informed (a deleted or disabled device is disconnected at once).
 */
import type { DeviceListQuery, DeviceRecord } from '../storage/types.ts';
import type { DevicePage } from './store.ts';

export interface DeviceInput {
  id: string;
  site: string;
  type: string;
  zone: string;
  label?: string | null;
  position?: [number, number, number] | null;
  externalIds?: Record<string, string>;
}

export type DeviceUpdate = Partial<Pick<DeviceRecord, 'zone' | 'label' | 'position' | 'externalIds' | 'enabled'>>;

/** A device as shown outside the server: everything but the secret hash. */
export type PublicDevice = Omit<DeviceRecord, 'secretHash'>;

export interface DeviceRegistrar {
  /** Validates (site, zone, type exist; id free; external ids unique), stores, returns the secret once. Throws StoreTwinError. */
  register(input: DeviceInput): Promise<{ device: PublicDevice; secret: string }>;
  /** Several devices, all or none, in one transaction; the secrets returned once. */
  registerMany(inputs: readonly DeviceInput[]): Promise<Array<{ device: PublicDevice; secret: string }>>;
  update(id: string, patch: DeviceUpdate): Promise<PublicDevice>;
  /** A page of devices in id order. */
  list(q: DeviceListQuery): Promise<DevicePage>;
  /** Issues a new secret; the old one stops working and the device is disconnected. */
  rotateSecret(id: string): Promise<{ device: PublicDevice; secret: string }>;
  remove(id: string): Promise<void>;
}

export const EXTERNAL_ID_PLATFORMS = ['imei', 'ctwing', 'onenet', 'hikvision', 'axis', 'frigate'] as const;
