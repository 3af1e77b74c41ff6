/**
 * The device catalogue. Adding a device type is adding its module and one line here; ingest,
 * twin and simulators find it by id. DEVICE_TYPE_IDS mirrors server/sites/model.ts (a test
 * keeps them equal) so the site schema can stay free of device code.
 */
import { camera } from './camera.ts';
import { doorSensor } from './door-sensor.ts';
import { footfallCounter } from './footfall-counter.ts';
import type { DeviceType } from './types.ts';

export const DEVICE_TYPE_IDS = ['door-sensor', 'camera', 'footfall-counter'] as const;
export type DeviceTypeId = (typeof DEVICE_TYPE_IDS)[number];

export const deviceTypes: readonly DeviceType[] = [doorSensor, camera, footfallCounter];

const byId = new Map(deviceTypes.map((t) => [t.id, t]));

export function getDeviceType(id: string): DeviceType | undefined {
  return byId.get(id);
}
