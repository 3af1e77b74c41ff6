/**
 * Twin vocabulary (after Eclipse Ditto): the site model holds static attributes; this is the
 * reported state, kept live from device events. Later stages read it and subscribe to its
 * typed change events (server/events.ts); nothing writes it but ingest's output.
 */
import type { DoorState } from '../../devices/types.ts';

export interface DeviceState {
  id: string;
  site: string;
  zone: string;
  type: string;
  /** null until the device has said `online`/`offline` or sent anything. */
  online: boolean | null;
  /** ISO 8601; last message of any kind. */
  lastSeen: string | null;
  lastEvent: { type: string; ts: string; seq: number | null } | null;
  /** Volts, and an estimated percentage for the battery chemistry of the type. */
  battery: number | null;
  batteryPct: number | null;
  /** dBm / dB, NB-IoT radio quality from heartbeats. */
  rsrp: number | null;
  snr: number | null;
  door: DoorState | null;
  tamper: boolean;
  /** Payloads from this device refused since the server started, and the last refusal. */
  rejected: number;
  lastRejection: { code: string; message: string; at: string } | null;
}

export interface ZoneState {
  id: string;
  site: string;
  floor: string;
  /** From the zone's door sensor(s): open if any is open. */
  door: DoorState | null;
  doorChangedAt: string | null;
  /** Persons inside, from footfall counters feeding this zone; null if none do. */
  occupancy: number | null;
  capacity: number | null;
  lastMotionAt: string | null;
}

export interface SiteState {
  site: string;
  zones: Record<string, ZoneState>;
  devices: Record<string, DeviceState>;
}

export interface TwinReader {
  siteState(site: string): SiteState | null;
  deviceState(device: string): DeviceState | null;
}
