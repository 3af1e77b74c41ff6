/**
 * NB-IoT radio quality: the fields heartbeats carry, their classification for the dashboard,
 * and a simulated signal that wanders around a per-device baseline (a sensor behind a steel
 * door stays poor all its life; one near a window stays good).
 */
import { z } from 'zod';
import { normal, randomInt, uniform, type Random } from './random.ts';
import { HOUR_MS } from './time.ts';

/** 3GPP TS 36.133 reports RSRP between -156 and -31 dBm; anything outside is a unit mistake. */
export const rsrpField = z.number().min(-160).max(-30).optional();
export const snrField = z.number().min(-30).max(50).optional();
export const signalFields = {
  rsrp: rsrpField,
  snr: snrField,
  cellId: z.number().int().min(0).max(0xffffffff).optional(),
  /** Physical cell id, 0..503 in LTE/NB-IoT. */
  pci: z.number().int().min(0).max(503).optional(),
  /** Coverage enhancement level. */
  ecl: z.number().int().min(0).max(2).optional(),
  /** AT+CSQ: 0..31, 99 = unknown. */
  csq: z.number().int().min(0).max(99).optional(),
};

export type SignalQuality = 'excellent' | 'good' | 'fair' | 'poor' | 'bad';
const LEVELS: readonly SignalQuality[] = ['excellent', 'good', 'fair', 'poor', 'bad'];

/**
 * RSRP bands as NB-IoT deployment guides use them; NB-IoT still delivers down to about
 * -120 dBm with repetitions, so `poor` is working but battery-hungry. A negative SNR costs a
 * level because the link then needs more repetitions at the same RSRP.
 */
export function classifySignal(rsrp: number, snr?: number): SignalQuality {
  let level = rsrp >= -85 ? 0 : rsrp >= -95 ? 1 : rsrp >= -105 ? 2 : rsrp >= -115 ? 3 : 4;
  if (snr !== undefined && snr < 0) level = Math.min(4, level + 1);
  return LEVELS[level] ?? 'bad';
}

export interface SignalReading {
  rsrp: number;
  snr: number;
  cellId: number;
  pci: number;
  ecl: number;
  csq: number;
}

/** How fast the signal forgets a deviation (people, doors, weather): hours. */
const TAU_MS = 6 * HOUR_MS;
/** Typical deviation around the baseline, dB. */
const SIGMA_DB = 4;

/** Simulated radio: RSRP as a mean-reverting random walk (Ornstein–Uhlenbeck) around a baseline. */
export class SignalModel {
  readonly baseline: number;
  private rsrp: number;
  private lastMs: number | null = null;
  private readonly cellId: number;
  private readonly pci: number;

  constructor(private readonly random: Random) {
    this.baseline = uniform(random, -115, -70);
    this.rsrp = this.baseline;
    // E-UTRAN cell ids are 28 bits; a sensor stays on its serving cell.
    this.cellId = randomInt(random, 0x10000, 0x0fffffff);
    this.pci = randomInt(random, 0, 503);
  }

  read(atMs: number): SignalReading {
    const dt = this.lastMs === null ? TAU_MS : Math.max(0, atMs - this.lastMs);
    this.lastMs = Math.max(this.lastMs ?? atMs, atMs);
    const keep = Math.exp(-dt / TAU_MS);
    this.rsrp = this.baseline + (this.rsrp - this.baseline) * keep + SIGMA_DB * Math.sqrt(1 - keep * keep) * normal(this.random);
    const rsrp = Math.round(Math.max(-140, Math.min(-44, this.rsrp)));
    // SNR tracks RSRP in a noise-limited cell; fitted so -78 dBm gives about 17 dB as in real frames.
    const snr = Math.round(Math.max(-10, Math.min(30, (rsrp + 120) / 2.5 + 1.5 * normal(this.random))));
    const ecl = rsrp >= -108 ? 0 : rsrp >= -118 ? 1 : 2;
    const csq = Math.max(0, Math.min(31, Math.round((rsrp + 116) / 2)));
    return { rsrp, snr, cellId: this.cellId, pci: this.pci, ecl, csq };
  }
}
