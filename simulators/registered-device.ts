/**
 * A device registered by hand (`storetwin device add`, POST /api/devices) is placed in no site
 * file, so `storetwin simulate --device` cannot learn its type and zone from one: the server
 * knows them. Read from its API — GET /api/devices/{id}, and GET /api/sites/{site} when that
 * site is not among the local site files either (a site of your own in <dataDir>/sites).
 */
import { StoreTwinError, type ErrorCode } from '../server/errors.ts';
import { placementSchema, siteSchema, type Placement, type Site } from '../server/sites/model.ts';

export interface RegisteredDeviceLookup {
  /** StoreTwin's HTTP address, e.g. http://127.0.0.1:8080. */
  apiUrl: string;
  /** A token of a user who may read devices and sites (POST /api/auth/login or an API token). */
  apiToken: string;
  device: string;
  /** The site from the local site files, when they have it. */
  localSite: (id: string) => Site | undefined;
  fetchImpl?: typeof fetch;
}

/** The device as the simulator needs it, and its site. Throws StoreTwinError with the server's code. */
export async function fetchRegisteredDevice(q: RegisteredDeviceLookup): Promise<{ site: Site; placement: Placement }> {
  const body = await getJson<{ device: { id: string; site: string; type: string; zone: string; label?: string | null } }>(q, `/api/devices/${encodeURIComponent(q.device)}`);
  const d = body.device;
  const placement = placementSchema.parse({ id: d.id, type: d.type, zone: d.zone, ...(d.label ? { label: d.label.slice(0, 80) } : {}) });
  const site = q.localSite(d.site) ?? (await fetchSite(q, d.site));
  return { site, placement };
}

async function fetchSite(q: RegisteredDeviceLookup, id: string): Promise<Site> {
  const { devices: _devices, ...model } = await getJson<Record<string, unknown>>(q, `/api/sites/${encodeURIComponent(id)}`);
  // The API lists the site's registered devices in its own shape; the simulator is told which device to run.
  const parsed = siteSchema.safeParse({ ...model, devices: [] });
  if (!parsed.success) throw new StoreTwinError('STW_ERR_UPSTREAM_FAILED', `GET /api/sites/${id} answered a site model the simulator cannot read`);
  return parsed.data;
}

async function getJson<T>(q: RegisteredDeviceLookup, route: string): Promise<T> {
  const doFetch = q.fetchImpl ?? fetch;
  let res: Response;
  try {
    res = await doFetch(`${q.apiUrl.replace(/\/+$/, '')}${route}`, { headers: { authorization: `Bearer ${q.apiToken}`, accept: 'application/json' } });
  } catch (err) {
    throw new StoreTwinError('STW_ERR_UPSTREAM_FAILED', `cannot reach StoreTwin at ${q.apiUrl}: ${(err as Error).message}`);
  }
  const text = await res.text();
  if (res.ok) return JSON.parse(text) as T;
  let code: string | undefined;
  let message: string | undefined;
  try {
    ({ code, message } = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error ?? {});
  } catch {
    // not our JSON: described by the status below
  }
  const known = code !== undefined && /^STW_ERR_[A-Z0-9_]+$/.test(code) ? (code as ErrorCode) : 'STW_ERR_UPSTREAM_FAILED';
  throw new StoreTwinError(known, `GET ${route} on ${q.apiUrl} answered ${res.status}${message ? `: ${message}` : ''}`);
}
