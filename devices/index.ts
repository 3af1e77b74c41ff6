/**
 * The device catalogue. Adding a device type is adding its module and one line in the list at
 * the end; everything else — the site schema's type ids, ingest, twin, rules, history, the
 * CLI, `GET /api/device-types` and the dashboard — takes the type from here and asks what it
 * can do (`deviceTypeHas`), never its id.
 */
import { camera } from './camera.ts';
import { doorSensor } from './door-sensor.ts';
import { footfallCounter } from './footfall-counter.ts';
import { PLACEMENT_FIELDS, type Capability, type DeviceType, type PlacementField } from './types.ts';

const TYPE_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
const ID_PREFIX = /^[a-z0-9][a-z0-9-]{0,15}$/;

/**
 * Everything this module exports about a list of types, checked when it is built: ids and id
 * prefixes well-formed and unique, at least one type. (A test builds one with extra types the
 * same way, to check that a registered type is all a new model needs.)
 */
export function catalogueOf(types: readonly DeviceType[]) {
  const [first, ...rest] = types.map((t) => t.id);
  if (first === undefined) throw new Error('the device catalogue is empty');
  const byId = new Map<string, DeviceType>();
  const prefixes = new Map<string, string>();
  for (const t of types) {
    if (!TYPE_ID.test(t.id)) throw new Error(`device type id "${t.id}" must match ${TYPE_ID}`);
    if (!ID_PREFIX.test(t.idPrefix)) throw new Error(`device type ${t.id}: idPrefix "${t.idPrefix}" must match ${ID_PREFIX}`);
    if (byId.has(t.id)) throw new Error(`device type "${t.id}" is listed twice`);
    const clash = prefixes.get(t.idPrefix);
    if (clash) throw new Error(`device types ${clash} and ${t.id} share the idPrefix "${t.idPrefix}"`);
    byId.set(t.id, t);
    prefixes.set(t.idPrefix, t.id);
  }
  const placement = new Map(
    types.map((t) => [t.id, [...new Set(t.capabilities.flatMap((c) => PLACEMENT_FIELDS[c]))] as readonly PlacementField[]]),
  );
  return {
    deviceTypes: types,
    /** Every type id, in catalogue order: the one list the site schema and rules accept. */
    DEVICE_TYPE_IDS: [first, ...rest] as readonly [string, ...string[]],
    getDeviceType(id: string): DeviceType | undefined {
      return byId.get(id);
    },
    /** Whether the type can do `capability`; false for an unknown type. */
    deviceTypeHas(id: string, capability: Capability): boolean {
      return byId.get(id)?.capabilities.includes(capability) ?? false;
    },
    /** The placement fields a site file may give a device of this type (from its capabilities). */
    placementFieldsOf(id: string): readonly PlacementField[] {
      return placement.get(id) ?? [];
    },
  };
}

export const { deviceTypes, DEVICE_TYPE_IDS, getDeviceType, deviceTypeHas, placementFieldsOf } = catalogueOf([
  doorSensor,
  camera,
  footfallCounter,
]);
