/**
 * The site models (the twin's static attributes) and their live state. Registered devices come
 * from the registry; the site file's placements only fill in what registration left out
 * (position, label, and the camera / door / counter wiring the dashboard draws).
 */
import type { Request, Response } from 'express';
import { z } from 'zod';
import { assertSiteVisible, visibleSites } from '../../auth/roles.ts';
import { StoreTwinError } from '../../errors.ts';
import type { Placement, Site } from '../../sites/model.ts';
import type { DeviceRecord } from '../../storage/types.ts';
import { allow, userOf } from '../auth.ts';
import { siteModelSchema, siteStateSchema, siteSummarySchema } from '../openapi/schemas.ts';
import type { ApiDeps, ApiRouteModule, RouteDoc } from '../types.ts';
import { parseInput } from '../validate.ts';
import type { SiteDevice, SiteSummary } from '../../sites/wire.ts';

const siteParams = z.object({ site: z.string().min(1).max(200) });

export type { SiteDevice, SiteSummary } from '../../sites/wire.ts';

function siteDevice(rec: DeviceRecord, placement: Placement | undefined): SiteDevice {
  const device: SiteDevice = {
    id: rec.id,
    type: rec.type,
    zone: rec.zone,
    label: rec.label ?? placement?.label ?? null,
    position: rec.position ?? placement?.position ?? null,
    enabled: rec.enabled,
  };
  // Wiring from the placement only applies while the device still sits where the file put it.
  if (placement && placement.type === rec.type) {
    if (placement.door !== undefined) device.door = placement.door;
    if (placement.watches.length > 0) device.watches = placement.watches;
    if (placement.fov !== undefined) device.fov = placement.fov;
    if (placement.counts !== undefined) device.counts = placement.counts;
  }
  return device;
}

/** The site, or 404 when unknown or outside the caller's scope (the two are indistinguishable). */
function visibleSite(deps: ApiDeps, req: Request): Site {
  const { site: id } = parseInput(siteParams, req.params, 'params');
  assertSiteVisible(userOf(req), id);
  const site = deps.sites.get(id);
  if (!site) throw new StoreTwinError('STW_ERR_SITE_NOT_FOUND', `no site "${id}"`);
  return site;
}

const docs: RouteDoc[] = [
  {
    method: 'get',
    path: '/api/sites',
    summary: 'The sites you may see, with counts',
    permission: 'sites:read',
    responses: { 200: { description: 'Every site visible to the caller', schema: z.object({ items: z.array(siteSummarySchema) }) } },
  },
  {
    method: 'get',
    path: '/api/sites/:site',
    summary: 'The twin model: floors, zones, doors, devices',
    description: 'Each device with its `id`, `type`, `zone` and position (registered, else the site file’s, else null = the zone centre), and the wiring the site file gives it (`door`, `watches`, `fov`, `counts`).',
    permission: 'sites:read',
    params: siteParams,
    responses: { 200: { description: 'The site model', schema: siteModelSchema } },
    errors: ['STW_ERR_SITE_NOT_FOUND'],
  },
  {
    method: 'get',
    path: '/api/sites/:site/state',
    summary: 'Live state of every zone and device',
    permission: 'state:read',
    params: siteParams,
    responses: { 200: { description: 'The twin’s state now', schema: siteStateSchema } },
    errors: ['STW_ERR_SITE_NOT_FOUND'],
  },
];

export const siteRoutes: ApiRouteModule = {
  name: 'sites',
  docs,
  register(app, deps) {
    app.get('/api/sites', allow('sites:read'), (req: Request, res: Response) => {
      const counts = new Map<string, number>();
      for (const d of deps.registry.allDevices()) counts.set(d.site, (counts.get(d.site) ?? 0) + 1);
      const items: SiteSummary[] = visibleSites(userOf(req), deps.sites.list()).map((s) => ({
        id: s.id,
        name: s.name,
        kind: s.kind,
        timezone: s.timezone,
        floors: s.floors.length,
        zones: s.floors.reduce((n, f) => n + f.zones.length, 0),
        devices: counts.get(s.id) ?? 0,
      }));
      res.json({ items });
    });

    app.get('/api/sites/:site', allow('sites:read'), (req: Request, res: Response) => {
      const site = visibleSite(deps, req);
      const placements = new Map(site.devices.map((p) => [p.id, p]));
      const devices = deps.registry.devicesOfSite(site.id).map((d) => siteDevice(d, placements.get(d.id)));
      res.json({
        id: site.id,
        name: site.name,
        kind: site.kind,
        timezone: site.timezone,
        openingHours: site.openingHours,
        floors: site.floors,
        devices,
      });
    });

    app.get('/api/sites/:site/state', allow('state:read'), (req: Request, res: Response) => {
      const site = visibleSite(deps, req);
      // A known site the twin has not seen yet (no device registered) has an empty state.
      res.json(deps.twin.siteState(site.id) ?? { site: site.id, zones: {}, devices: {} });
    });
  },
};
