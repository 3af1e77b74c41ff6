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
import { z } from 'zod';
import { deviceTypes, placementFieldsOf } from '../../../devices/index.ts';
import { CAPABILITIES, type Capability, type DeviceEventType, type DeviceType, type PayloadFormat, type PlacementField } from '../../../devices/types.ts';
import { allow } from '../auth.ts';
import { sameKeys } from '../openapi/schemas.ts';
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

const deviceTypeInfoSchema = sameKeys<DeviceTypeInfo>()(
  z.object({
    id: z.string(),
    label: z.object({ en: z.string(), 'zh-CN': z.string() }),
    idPrefix: z.string(),
    capabilities: z.array(z.enum(CAPABILITIES)),
    events: z.array(z.enum(['door', 'heartbeat', 'tamper', 'register', 'motion', 'count'])),
    formats: z.array(z.enum(['json', 'binary'])),
    heartbeatIntervalS: z.number(),
    placement: z.array(z.enum(['door', 'watches', 'fov', 'counts'])),
  }),
);

export const deviceTypeRoutes: ApiRouteModule = {
  name: 'device-types',
  docs: [
    {
      method: 'get',
      path: '/api/device-types',
      summary: 'The device catalogue: each type with what it can do',
      description: 'Decide by capability (`count`, `snapshot`, `door`, `motion`…), never by type id: a new device model is a new type with the same capabilities.',
      permission: 'sites:read',
      responses: { 200: { description: 'Every device type', schema: z.object({ items: z.array(deviceTypeInfoSchema) }) } },
    },
  ],
  register(app) {
    app.get('/api/device-types', allow('sites:read'), (_req: Request, res: Response) => {
      const answer: DeviceTypesAnswer = { items: deviceTypes.map(deviceTypeInfo) };
      res.json(answer);
    });
  },
};
