/**
 * A simulated device's id on a platform (its `externalIds` entry), so that what the simulator
 * sends names a device the server knows. Two sources:
 * - the server itself (`--api-token`): the `externalIds` the site's devices were registered
 *   with, read from `GET /api/devices?site=…` — preferred, nothing to keep in step;
 * - derived from the StoreTwin device id, the same every run, for registering by hand:
 *   CTWing deviceId and Frigate camera name = the device id; OneNET dev_id, Hikvision MAC and
 *   Axis serial made from a hash of it, shaped like the real ones.
 */
import { createHash } from 'node:crypto';
import type { ExternalIdKey } from '../../server/integrations/adapters/types.ts';
import { normalizeExternalId } from '../../server/registry/external-ids.ts';

export type ExternalIds = Partial<Record<ExternalIdKey, string>>;

function hashOf(key: string, deviceId: string): Buffer {
  return createHash('sha256').update(`storetwin-simulator:${key}:${deviceId}`, 'utf8').digest();
}

/**
 * The id a simulated device has on `key`'s platform when nobody registered another one.
 * Deterministic: the same device id always gives the same external id.
 */
export function derivedExternalId(key: ExternalIdKey, deviceId: string): string {
  const h = hashOf(key, deviceId);
  switch (key) {
    case 'ctwing':
    case 'frigate':
      return deviceId;
    case 'onenet': {
      // OneNET dev_ids are decimal numbers (10 digits today); no leading zero.
      return String(1_000_000_000 + Number(h.readBigUInt64BE(0) % 9_000_000_000n));
    }
    case 'hikvision': {
      // A locally administered unicast MAC (second-lowest bit of the first octet set, lowest
      // clear): never one a real vendor owns.
      const bytes = [...h.subarray(0, 6)];
      bytes[0] = ((bytes[0] ?? 0) & 0xfc) | 0x02;
      return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
    }
    case 'axis':
      // An Axis serial is its MAC: Axis' own OUI ACCC8E, then three bytes of the hash.
      return `ACCC8E${h.subarray(0, 3).toString('hex').toUpperCase()}`;
    case 'imei': {
      // 14 digits (TAC 86…, as Chinese NB-IoT modules have) and the Luhn check digit.
      const body = `86${String(h.readBigUInt64BE(0) % 10n ** 12n).padStart(12, '0')}`;
      return body + luhnDigit(body);
    }
  }
}

function luhnDigit(digits: string): string {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
}

interface PublicDevice {
  id: string;
  site: string;
  type: string;
  externalIds?: Record<string, string>;
}

/**
 * The `externalIds` of every device of `site` as registered on the server, by device id (one
 * request per page of `GET /api/devices`). Throws with the server's error code when it refuses.
 */
export async function fetchExternalIds(options: { url: string; apiToken: string; site: string; fetchImpl?: typeof fetch }): Promise<Map<string, ExternalIds>> {
  const doFetch = options.fetchImpl ?? fetch;
  const out = new Map<string, ExternalIds>();
  let cursor: string | null | undefined;
  // A site has hundreds of devices, not millions: the page cap stops a server that loops.
  for (let page = 0; page < 1000; page++) {
    const query = new URLSearchParams({ site: options.site, limit: '200' });
    if (cursor) query.set('cursor', cursor);
    const res = await doFetch(`${options.url}/api/devices?${query.toString()}`, { headers: { authorization: `Bearer ${options.apiToken}`, accept: 'application/json' } });
    const text = await res.text();
    if (!res.ok) throw new Error(`GET /api/devices answered ${res.status}${errorOf(text)}`);
    const body = JSON.parse(text) as { items?: PublicDevice[]; nextCursor?: string | null };
    for (const d of body.items ?? []) {
      const ids: ExternalIds = {};
      for (const [k, v] of Object.entries(d.externalIds ?? {})) ids[k as ExternalIdKey] = normalizeExternalId(k, v);
      out.set(d.id, ids);
    }
    cursor = body.nextCursor;
    if (!cursor) break;
  }
  return out;
}

function errorOf(text: string): string {
  try {
    const err = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
    return err?.code ? ` ${err.code}: ${err.message ?? ''}` : '';
  } catch {
    return '';
  }
}
