/**
 * The device page's rows (dashboard/src/panels/device-rows.ts) over the real catalogue as
 * GET /api/device-types answers it: status (silent after twice the type's heartbeat interval,
 * as the built-in rule), battery and signal by capability never by type id, the filters and the
 * search (id, label, external ids).
 */
import { describe, expect, it } from 'vitest';
import { deviceTypes } from '../../devices/index.ts';
import type { RegisteredDevice } from '../../protocol/devices.ts';
import { deviceTypeInfo } from '../../server/api/routes/device-types.ts';
import { deviceRows, deviceStatus, filterCounts, matchesFilter, matchesSearch, type DeviceState } from '../../dashboard/src/panels/device-rows.ts';

const TYPES = deviceTypes.map(deviceTypeInfo);
const NOW = Date.parse('2026-11-30T02:00:00Z');
const door = TYPES.find((t) => t.id === 'door-sensor')!;

function device(id: string, type: string, extra: Partial<RegisteredDevice> = {}): RegisteredDevice {
  return { id, site: 's', type, zone: 'z', label: null, position: null, externalIds: {}, enabled: true, createdAt: '2026-11-01T00:00:00Z', updatedAt: '2026-11-01T00:00:00Z', ...extra };
}

/** The twin's DeviceState as the state route answers it (more than the rows read). */
function state(id: string, extra: Partial<DeviceState> = {}): DeviceState & Record<string, unknown> {
  return { id, site: 's', zone: 'z', type: 'door-sensor', door: null, tamper: false, online: null, lastSeen: null, lastEvent: null, battery: null, batteryPct: null, rsrp: null, snr: null, rejected: 0, lastRejection: null, ...extra };
}

const ago = (s: number) => new Date(NOW - s * 1000).toISOString();

describe('device rows', () => {
  it('status: never seen, offline, online, silent past twice the heartbeat interval, no status', () => {
    expect(deviceStatus(null, door, NOW)).toBe('never');
    expect(deviceStatus(state('a'), door, NOW)).toBe('never');
    expect(deviceStatus(state('a', { online: false, lastSeen: ago(10) }), door, NOW)).toBe('offline');
    expect(deviceStatus(state('a', { online: true, lastSeen: ago(door.heartbeatIntervalS * 2 - 60) }), door, NOW)).toBe('online');
    expect(deviceStatus(state('a', { online: true, lastSeen: ago(door.heartbeatIntervalS * 2 + 60) }), door, NOW)).toBe('silent');
    expect(deviceStatus(state('a', { online: null, lastSeen: ago(30) }), door, NOW)).toBe('unknown');
  });

  it('battery and signal follow the capabilities, and a type the dashboard never heard of that declares them gets them', () => {
    const novel = { ...door, id: 'acme-magnet-9', capabilities: ['door', 'battery', 'signal'] as typeof door.capabilities };
    const rows = deviceRows([device('d', 'door-sensor'), device('c', 'camera'), device('n', 'acme-magnet-9')], {}, [...TYPES, novel], NOW);
    expect(rows.map((r) => [r.device.id, r.hasBattery, r.hasSignal])).toEqual([
      ['d', true, true],
      ['c', false, false],
      ['n', true, true],
    ]);
  });

  it('filters and search', () => {
    const devices = [
      device('door-low', 'door-sensor', { label: 'Room 202 door', externalIds: { imei: '864475040202020' } }),
      device('door-off', 'door-sensor'),
      device('door-new', 'door-sensor'),
      device('cam-1', 'camera'),
    ];
    const states = {
      'door-low': state('door-low', { online: true, lastSeen: ago(5), battery: 2.62, batteryPct: 12 }),
      'door-off': state('door-off', { online: false, lastSeen: ago(5), batteryPct: 80, lastRejection: { code: 'STW_ERR_PAYLOAD_SCHEMA', message: 'x', at: ago(3) } }),
      // A camera reporting no battery never counts as low, whatever the field says.
      'cam-1': state('cam-1', { online: true, lastSeen: ago(5), batteryPct: 5 }),
    };
    const rows = deviceRows(devices, states, TYPES, NOW);
    const ids = (f: Parameters<typeof matchesFilter>[1]) => rows.filter((r) => matchesFilter(r, f)).map((r) => r.device.id);
    expect(ids('offline')).toEqual(['door-off']);
    expect(ids('lowBattery')).toEqual(['door-low']);
    expect(ids('neverSeen')).toEqual(['door-new']);
    expect(ids('rejected')).toEqual(['door-off']);
    expect(rows.filter((r) => matchesSearch(r, 'ROOM 202')).map((r) => r.device.id)).toEqual(['door-low']);
    expect(rows.filter((r) => matchesSearch(r, '0202020')).map((r) => r.device.id)).toEqual(['door-low']);
    expect(filterCounts(rows, 'door')).toEqual({ all: 3, offline: 1, lowBattery: 1, neverSeen: 1, rejected: 1 });
  });
});
