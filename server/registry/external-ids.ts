/**
 * One spelling per external id, so that what a platform sends and what a technician typed
 * match: a MAC address in any of its usual forms (`44-47-CC-50-00-C1`, `4447cc5000c1`) is
 * `44:47:cc:50:00:c1`; an Axis serial is upper-case hex; an IMEI is its digits. Applied when a
 * device is registered and when a message is matched.
 */
import type { EXTERNAL_ID_PLATFORMS } from './types.ts';

type ExternalIdKey = (typeof EXTERNAL_ID_PLATFORMS)[number];

export function normalizeMac(value: string): string {
  const hex = value.replace(/[^0-9a-fA-F]/g, '').toLowerCase();
  return hex.length === 12 ? (hex.match(/../g) ?? []).join(':') : value.trim().toLowerCase();
}

export function normalizeExternalId(key: ExternalIdKey | string, value: string): string {
  const v = value.trim();
  switch (key) {
    case 'hikvision':
      return normalizeMac(v);
    case 'axis':
      return v.replace(/[^0-9a-fA-F]/g, '').toUpperCase() || v;
    case 'imei':
      return v.replace(/\D/g, '') || v;
    default:
      return v;
  }
}
