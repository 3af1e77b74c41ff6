/** Colours of the twin, as 0xRRGGBB. One place so the legend in the app shell can match. */
import type { Severity } from '../../../server/alarms/types.ts';
import type { Zone } from '../../../server/sites/model.ts';

export const SEVERITY_COLORS: Readonly<Record<Severity, number>> = {
  critical: 0xdc2626,
  major: 0xf97316,
  minor: 0xeab308,
  warning: 0xf59e0b,
  info: 0x3b82f6,
};

export const KIND_COLORS: Readonly<Record<Zone['kind'], number>> = {
  room: 0xcbd5e1,
  corridor: 0xe5e7eb,
  lobby: 0xdbeafe,
  hall: 0xdbeafe,
  entrance: 0xe0e7ff,
  office: 0xddd6fe,
  'cash-room': 0xfde68a,
  storage: 0xd6d3d1,
  stairs: 0xe7e5e4,
  service: 0xd6d3d1,
};

export const STATE_COLORS = {
  doorOpen: 0x2dd4bf,
  armed: 0x818cf8,
  armedOpen: 0xc084fc,
  offline: 0x94a3b8,
  outline: 0x334155,
  doorClosed: 0x8b6b4a,
  doorLeafOpen: 0x0d9488,
  deviceOnline: 0x10b981,
  deviceUnknown: 0x64748b,
  deviceOffline: 0x9ca3af,
  tamper: 0xdc2626,
  camera: 0x1e293b,
  cone: 0x38bdf8,
  counter: 0xa855f7,
  lowBattery: 0xf97316,
  weakSignal: 0xd946ef,
} as const;

const GREEN = 0x22c55e;
const AMBER = 0xf59e0b;
const RED = 0xef4444;

export function mixHex(a: number, b: number, t: number): number {
  const k = Math.min(1, Math.max(0, t));
  const ch = (shift: number) => {
    const x = (a >> shift) & 0xff;
    const y = (b >> shift) & 0xff;
    return Math.round(x + (y - x) * k) << shift;
  };
  return ch(16) | ch(8) | ch(0);
}

/** Occupancy against capacity: green when empty, amber at 70 %, red at or above 100 %. */
export function occupancyColor(ratio: number): number {
  if (!(ratio > 0)) return GREEN;
  if (ratio < 0.7) return mixHex(GREEN, AMBER, ratio / 0.7);
  return mixHex(AMBER, RED, (ratio - 0.7) / 0.3);
}
