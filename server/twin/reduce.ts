/**
 * The twin's reduction: how one stored device event changes a device's reported state and the
 * state of the zones it touches. Pure apart from mutating the states it is handed, so the live
 * Twin (server/twin/twin.ts) and the history API (server/history/) fold events through the
 * same code and a replayed instant shows exactly what the live twin showed.
 */
import { getDeviceType } from '../../devices/index.ts';
import type { Site } from '../sites/model.ts';
import type { RecordedEvent } from '../storage/types.ts';
import type { DeviceState, ZoneState } from './types.ts';

/** What the reduction reads of the world around the device: its zones and neighbours. */
export interface TwinWorld {
  zone(site: string, zone: string): ZoneState | undefined;
  /** The devices placed in a zone (a zone with several doors is open while any of them is). */
  devicesIn(site: string, zone: string): Iterable<DeviceState>;
  /** The zone a footfall counter's counts feed (its placement's `counts`), else its own zone. */
  countsInto(device: string): string | undefined;
}

/** The parts of a stored event the reduction reads. */
export interface ReducibleEvent {
  type: string;
  ts: string;
  receivedAt: string;
  seq: number | null;
  data: RecordedEvent;
}

export interface ZoneChange {
  zone: ZoneState;
  changed: Array<keyof ZoneState>;
}

export interface Reduction {
  /** Device fields the event set (possibly to the value they already had). */
  device: Array<keyof DeviceState>;
  /** Zones whose state changed, in the order they changed. */
  zones: ZoneChange[];
}

export function emptyDeviceState(device: { id: string; site: string; zone: string; type: string }): DeviceState {
  return {
    id: device.id,
    site: device.site,
    zone: device.zone,
    type: device.type,
    online: null,
    lastSeen: null,
    lastEvent: null,
    battery: null,
    batteryPct: null,
    rsrp: null,
    snr: null,
    door: null,
    tamper: false,
    rejected: 0,
    lastRejection: null,
  };
}

/** Every zone of the site, with nothing reported yet. */
export function emptyZoneStates(site: Site): Map<string, ZoneState> {
  const zones = new Map<string, ZoneState>();
  for (const floor of site.floors) {
    for (const zone of floor.zones) {
      zones.set(zone.id, {
        id: zone.id,
        site: site.id,
        floor: floor.id,
        door: null,
        doorChangedAt: null,
        occupancy: null,
        capacity: zone.capacity ?? null,
        lastMotionAt: null,
      });
    }
  }
  return zones;
}

/** Counter → hall wiring from the site file's placements (`counts:`). */
export function countsWiring(site: Site): Map<string, string> {
  const wiring = new Map<string, string>();
  for (const p of site.devices) if (p.counts) wiring.set(p.id, p.counts);
  return wiring;
}

/** Applies one event to `state` (and the zones it touches) and says what it set. */
export function reduceEvent(world: TwinWorld, state: DeviceState, e: ReducibleEvent): Reduction {
  const device: Array<keyof DeviceState> = ['lastSeen', 'lastEvent'];
  const zones: ZoneChange[] = [];
  const updateZone = (zoneId: string, mutate: (z: ZoneState) => Array<keyof ZoneState>): void => {
    const zone = world.zone(state.site, zoneId);
    if (!zone) return;
    const changed = mutate(zone);
    if (changed.length > 0) zones.push({ zone, changed });
  };
  const setDoor = (door: 'open' | 'closed'): void => {
    if (state.door === door) return;
    state.door = door;
    device.push('door');
    updateZone(state.zone, (z) => {
      let open = false;
      for (const d of world.devicesIn(state.site, state.zone)) {
        if (d.door === 'open') {
          open = true;
          break;
        }
      }
      const next = open ? 'open' : 'closed';
      if (z.door === next) return [];
      z.door = next;
      z.doorChangedAt = e.ts;
      return ['door', 'doorChangedAt'];
    });
  };
  const setBattery = (volts: number): void => {
    state.battery = volts;
    const pct = getDeviceType(state.type)?.batteryPercent?.(volts);
    state.batteryPct = pct === undefined ? null : Math.round(pct);
    device.push('battery', 'batteryPct');
  };

  state.lastSeen = e.receivedAt;
  state.lastEvent = { type: e.type, ts: e.ts, seq: e.seq };
  const data = e.data;
  if (data.type !== 'status' && state.online !== true) {
    // Anything a device sends proves it is online.
    state.online = true;
    device.push('online');
  }
  switch (data.type) {
    case 'status':
      state.online = data.online;
      device.push('online');
      break;
    case 'door':
      setDoor(data.state);
      if (data.battery !== undefined) setBattery(data.battery);
      break;
    case 'heartbeat':
      if (data.battery !== undefined) setBattery(data.battery);
      else if (data.batteryPct !== undefined) {
        // A platform that reports a percentage (CTWing Battery_Level) and no volts.
        state.batteryPct = Math.round(data.batteryPct);
        device.push('batteryPct');
      }
      if (data.rsrp !== undefined) {
        state.rsrp = data.rsrp;
        device.push('rsrp');
      }
      if (data.snr !== undefined) {
        state.snr = data.snr;
        device.push('snr');
      }
      if (data.door !== undefined) setDoor(data.door);
      break;
    case 'tamper':
      state.tamper = data.active;
      device.push('tamper');
      break;
    case 'motion':
      updateZone(state.zone, (z) => {
        z.lastMotionAt = e.ts;
        return ['lastMotionAt'];
      });
      break;
    case 'count': {
      const target = world.countsInto(state.id) ?? state.zone;
      updateZone(target, (z) => {
        // Counters drift (a missed crossing); never show a negative crowd.
        z.occupancy = Math.max(0, (z.occupancy ?? 0) + data.in - data.out);
        return ['occupancy'];
      });
      break;
    }
    case 'register':
      break;
  }
  return { device, zones };
}
