/**
 * The device page's rows: each registered device (GET /api/devices) joined with its live state
 * (GET /api/sites/{site}/state) and what its type can do (GET /api/device-types), plus the
 * search and the filters. Pure data, no DOM: what a row shows for battery and signal follows
 * the type's capabilities (`battery`, `signal`), never its id, so a new device model shows up
 * right by declaring them.
 */
import type { RegisteredDevice } from '../../../protocol/devices.ts';

/**
 * What the page reads of one device's live state (`GET /api/sites/{site}/state`, the twin's
 * DeviceState). Declared here, structurally, so this file stays free of the DOM-bound client.
 */
export interface DeviceState {
  online: boolean | null;
  lastSeen: string | null;
  lastEvent: { type: string; ts: string; seq: number | null } | null;
  battery: number | null;
  batteryPct: number | null;
  rsrp: number | null;
  snr: number | null;
  rejected: number;
  lastRejection: { code: string; message: string; at: string } | null;
}

/** What the page reads of a device type (`GET /api/device-types`). */
export interface DeviceTypeInfo {
  id: string;
  label: { en: string; 'zh-CN': string };
  capabilities: readonly string[];
  heartbeatIntervalS: number;
}

export type DeviceStatus = 'online' | 'offline' | 'silent' | 'never' | 'unknown';
export type DeviceFilter = 'all' | 'offline' | 'lowBattery' | 'neverSeen' | 'rejected';
export const DEVICE_FILTERS: readonly DeviceFilter[] = ['all', 'offline', 'lowBattery', 'neverSeen', 'rejected'];

/** Below this charge a battery counts as low (the filter; the low-battery rule has its own threshold). */
export const LOW_BATTERY_PCT = 20;
/**
 * Silent past heartbeatIntervalS × this: the built-in device-silent rule's factor
 * (rules/default.yaml), so the page and the alarm agree on who is silent.
 */
export const SILENCE_FACTOR = 2;

export interface DeviceRow {
  device: RegisteredDevice;
  state: DeviceState | null;
  type: DeviceTypeInfo | null;
  status: DeviceStatus;
  /** The type reports a battery / a radio signal: otherwise those cells are "n/a", not "unknown". */
  hasBattery: boolean;
  hasSignal: boolean;
}

export function deviceStatus(state: DeviceState | null, type: DeviceTypeInfo | null, now: number): DeviceStatus {
  if (!state || (state.lastSeen === null && state.online === null)) return 'never';
  if (state.online === false) return 'offline';
  const interval = type?.heartbeatIntervalS ?? 0;
  if (state.lastSeen !== null && interval > 0 && now - Date.parse(state.lastSeen) > interval * SILENCE_FACTOR * 1000) return 'silent';
  return state.online === true ? 'online' : 'unknown';
}

export function deviceRows(devices: readonly RegisteredDevice[], states: Readonly<Record<string, DeviceState>>, types: readonly DeviceTypeInfo[], now: number): DeviceRow[] {
  const byId = new Map(types.map((t) => [t.id, t]));
  return devices.map((device) => {
    const state = states[device.id] ?? null;
    const type = byId.get(device.type) ?? null;
    return {
      device,
      state,
      type,
      status: deviceStatus(state, type, now),
      hasBattery: type?.capabilities.includes('battery') ?? false,
      hasSignal: type?.capabilities.includes('signal') ?? false,
    };
  });
}

export function matchesFilter(row: DeviceRow, filter: DeviceFilter): boolean {
  switch (filter) {
    case 'all':
      return true;
    case 'offline':
      return row.status === 'offline' || row.status === 'silent';
    case 'lowBattery':
      return row.hasBattery && row.state?.batteryPct !== null && row.state?.batteryPct !== undefined && row.state.batteryPct < LOW_BATTERY_PCT;
    case 'neverSeen':
      return row.status === 'never';
    case 'rejected':
      return (row.state?.lastRejection ?? null) !== null;
  }
}

/** The search box: the id, the label or an external id contains the text (any case). */
export function matchesSearch(row: DeviceRow, text: string): boolean {
  const q = text.trim().toLowerCase();
  if (q === '') return true;
  const { device } = row;
  return [device.id, device.label ?? '', ...Object.values(device.externalIds)].some((v) => v.toLowerCase().includes(q));
}

/** Per filter, how many rows of the search it keeps (the chips' counts). */
export function filterCounts(rows: readonly DeviceRow[], text: string): Record<DeviceFilter, number> {
  const searched = rows.filter((r) => matchesSearch(r, text));
  return Object.fromEntries(DEVICE_FILTERS.map((f) => [f, searched.filter((r) => matchesFilter(r, f)).length])) as Record<DeviceFilter, number>;
}
