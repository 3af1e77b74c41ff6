/**
 * `GET /api/device-types`: the device catalogue (devices/index.ts) as data — what each type is
 * called, what it can do and what a site file may say about it — so that clients (the
 * dashboard's twin, integrators) decide by capability, never by type id. No functions, no
 * schemas: those stay on the server.
 *
 * The catalogue is the same for everyone and names no site, so any role that may read sites
 * gets all of it, whatever its site scope.
 */
import type { Request, Response } from 'express';
import { deviceTypes, placementFieldsOf } from '../../../devices/index.ts';
import type { Capability, DeviceEventType, DeviceType, PayloadFormat, PlacementField } from '../../../devices/types.ts';
import { allow } from '../auth.ts';
import type { ApiRouteModule } from '../types.ts';

/** One device type on the wire. */
export interface DeviceTypeInfo {
  id: string;
  label: { en: string; 'zh-CN': string };
  /** Prefix of the ids `storetwin device add` makes up: `{idPrefix}-{zone}`. */
  idPrefix: string;
  /** What the type can do (README "Device types and payloads"). */
  capabilities: Capability[];
  /** Events it sends. */
  events: DeviceEventType[];
  /** Wire formats it speaks, the default first. */
  formats: PayloadFormat[];
  /** Longest expected silence, seconds. */
  heartbeatIntervalS: number;
  /** Site-file fields a placement of this type may carry (`door`, `watches`, `fov`, `counts`). */
  placement: PlacementField[];
}

/** The answer of `GET /api/device-types`. */
export interface DeviceTypesAnswer {
  items: DeviceTypeInfo[];
}

export function deviceTypeInfo(type: DeviceType): DeviceTypeInfo {
  return {
    id: type.id,
    label: { en: type.label.en, 'zh-CN': type.label['zh-CN'] },
    idPrefix: type.idPrefix,
    capabilities: [...type.capabilities],
    events: [...type.events],
    formats: [...type.formats],
    heartbeatIntervalS: type.heartbeatIntervalS,
    placement: [...placementFieldsOf(type.id)],
  };
}

export const deviceTypeRoutes: ApiRouteModule = {
  name: 'device-types',
  register(app) {
    app.get('/api/device-types', allow('sites:read'), (_req: Request, res: Response) => {
      const answer: DeviceTypesAnswer = { items: deviceTypes.map(deviceTypeInfo) };
      res.json(answer);
    });
  },
};
