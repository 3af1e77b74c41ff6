/**
 * Point times: nanoseconds since the epoch as bigint (they exceed 2⁵³), built from a time in ms
 * plus a sub-millisecond tie (stamps.ts). InfluxDB 1.x represents 1677-09-21 to 2262-04-11;
 * the store keeps 1970 onwards (the client writes only unsigned times).
 */
import { StoreTwinError } from '../../errors.ts';
import { msToIso } from '../sqlite/time.ts';

const NS_PER_MS = 1_000_000n;
/** 2262-04-11T23:47:16.854Z, the last millisecond InfluxDB can hold. */
const MAX_MS = 9_223_372_036_854;

export function pointNs(ms: number, tie = 0): bigint {
  return BigInt(ms) * NS_PER_MS + BigInt(tie);
}

/** The millisecond a point time falls in. */
export function nsToMs(ns: bigint): number {
  return Number(ns / NS_PER_MS);
}

export function nsToIso(ns: bigint): string {
  return msToIso(nsToMs(ns));
}

/** Refuses (STW_ERR_VALIDATION) a time InfluxDB cannot hold or that is older than `oldestMs`. */
export function checkStorableMs(ms: number, what: string, oldestMs: number): void {
  if (ms < 0 || ms > MAX_MS) {
    throw new StoreTwinError('STW_ERR_VALIDATION', `${what} is outside what the InfluxDB event store keeps (1970 to 2262)`, { [what]: msToIso(ms) });
  }
  if (ms < oldestMs) {
    throw new StoreTwinError('STW_ERR_VALIDATION', `${what} is older than the raw retention policy keeps: InfluxDB would drop it`, { [what]: msToIso(ms), oldest: msToIso(oldestMs) });
  }
}
