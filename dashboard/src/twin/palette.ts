/**
 * Colours of the twin, as 0xRRGGBB: one visual language, in one place, which the legend
 * (dashboard/src/panels/legend.ts) shows swatch by swatch. What matters most is loudest:
 *   critical / major alarm (saturated red / orange, pulsing, never paler than its low point)
 *   > offline (grey: its door state is unknown)
 *   > armed and door open (fuchsia) > door open (sky blue) > armed (indigo)
 *   > occupancy (a green scale; never red or orange, which mean alarms) > normal (quiet greys).
 * Minor, warning and info alarms keep their severity's colour without pulsing.
 */
import type { Severity } from '../../../server/alarms/types.ts';
import type { Zone } from '../../../server/sites/model.ts';

export const SEVERITY_COLORS: Readonly<Record<Severity, number>> = {
  critical: 0xdc2626,
  major: 0xf97316,
  minor: 0xeab308,
  warning: 0xf59e0b,
  info: 0x3b82f6,
};

/** The two ends of a pulsing alarm's colour: both unmistakably the severity's colour. */
export const PULSE_COLORS: Readonly<Partial<Record<Severity, readonly [number, number]>>> = {
  critical: [0xb91c1c, 0xf04a4a],
  major: [0xea580c, 0xfb923c],
};

/** Quiet greys and sands by kind of zone: they say what a zone is, never what state it is in. */
export const KIND_COLORS: Readonly<Record<Zone['kind'], number>> = {
  room: 0xd5dbe3,
  corridor: 0xeceef1,
  lobby: 0xe4e2dc,
  hall: 0xe4e2dc,
  entrance: 0xdcdfe4,
  office: 0xd9d4cc,
  'cash-room': 0xd9d4cc,
  storage: 0xd3d0cb,
  stairs: 0xe2e0dd,
  service: 0xd3d0cb,
};

export const STATE_COLORS = {
  doorOpen: 0x38bdf8,
  armed: 0x818cf8,
  armedOpen: 0xc42fd5,
  offline: 0x9ca3af,
  outline: 0x334155,
  doorClosed: 0xa08a70,
  doorLeafOpen: 0x0284c7,
  deviceOnline: 0x10b981,
  deviceUnknown: 0x64748b,
  deviceOffline: 0x9ca3af,
  tamper: 0xdc2626,
  camera: 0x1e293b,
  /** Camera coverage: a faint neutral fan, shown on request or for the selected camera. */
  cone: 0x475569,
  coneSelected: 0x0ea5e9,
  counter: 0xa855f7,
  lowBattery: 0xeab308,
  weakSignal: 0x475569,
} as const;

/** Occupancy against capacity: pale green when empty to deep green when full; never red. */
export const OCCUPANCY_SCALE: readonly [number, number, number] = [0xdcfce7, 0x4ade80, 0x166534];

export function mixHex(a: number, b: number, t: number): number {
  const k = Math.min(1, Math.max(0, t));
  const ch = (shift: number) => {
    const x = (a >> shift) & 0xff;
    const y = (b >> shift) & 0xff;
    return Math.round(x + (y - x) * k) << shift;
  };
  return ch(16) | ch(8) | ch(0);
}

/** Occupancy against capacity: the green scale, its middle at half full, darkest at or above full. */
export function occupancyColor(ratio: number): number {
  const [low, mid, high] = OCCUPANCY_SCALE;
  if (!(ratio > 0)) return low;
  if (ratio < 0.5) return mixHex(low, mid, ratio / 0.5);
  return mixHex(mid, high, (ratio - 0.5) / 0.5);
}

/** A pulsing alarm's colour at phase k (0…1): between its two ends, never towards white. */
export function pulseColor(severity: Severity, k: number): number {
  const ends = PULSE_COLORS[severity];
  return ends ? mixHex(ends[0], ends[1], k) : SEVERITY_COLORS[severity];
}

/** Hex as CSS, for the legend's swatches. */
export function css(hex: number): string {
  return `#${hex.toString(16).padStart(6, '0')}`;
}
