/**
 * Arming and maintenance routes. Sites outside the caller's scope answer 404 exactly like
 * unknown ones (server/auth/roles.ts).
 *
 * - `POST /api/sites/{site}/zones/{zone}/arm|disarm` `{until?}` (zones:arm) → `{arming}`
 * - `DELETE /api/sites/{site}/zones/{zone}/arming` (zones:arm): drop the override, back to the schedule
 * - `GET /api/sites/{site}/arming` (state:read) → `{site, at, zones: [...]}`
 * - `POST /api/maintenance` `{site, zone?|device?, until, reason?}` (devices:write) → 201 `{maintenance}`
 * - `GET /api/maintenance?site=` (devices:read) → `{items}` (windows not yet over)
 * - `DELETE /api/maintenance/{id}` (devices:write): ends the window now → `{maintenance}`
 */
import type { Request, Response } from 'express';
import { z } from 'zod';
import { assertSiteVisible, canSeeSite, scopeSite } from '../../auth/roles.ts';
import type { MaintenanceService } from '../../arming/maintenance.ts';
import type { ArmingService } from '../../arming/service.ts';
import { StoreTwinError } from '../../errors.ts';
import { allow, userOf } from '../auth.ts';
import type { ApiRouteModule } from '../types.ts';
import { isoDateTimeSchema, parseInput, queryString } from '../validate.ts';

export interface ArmingRoutesDeps {
  arming: ArmingService;
  maintenance: MaintenanceService;
}

const zoneParams = z.object({ site: z.string().min(1).max(200), zone: z.string().min(1).max(200) });
const siteParams = z.object({ site: z.string().min(1).max(200) });
const armBody = z.strictObject({ until: isoDateTimeSchema.nullable().optional() });
const maintenanceBody = z
  .strictObject({
    site: z.string().min(1).max(200),
    zone: z.string().min(1).max(200).optional(),
    device: z.string().min(1).max(200).optional(),
    until: isoDateTimeSchema,
    from: isoDateTimeSchema.optional(),
    reason: z.string().max(500).optional(),
  })
  .refine((b) => b.zone !== undefined || b.device !== undefined, { message: 'zone or device is required', path: ['zone'] });
const maintenanceQuery = z.strictObject({ site: queryString.optional() });
const idParams = z.object({ id: z.coerce.number().int().positive() });

export function armingRoutes(deps: ArmingRoutesDeps): ApiRouteModule {
  const { arming, maintenance } = deps;

  const armOrDisarm = (armed: boolean) => (req: Request, res: Response) => {
    const { site, zone } = parseInput(zoneParams, req.params, 'params');
    assertSiteVisible(userOf(req), site);
    // An empty POST (no body, no content type) is `{}`.
    const body = parseInput(armBody, req.body ?? {}, 'body');
    const until = body.until ? Date.parse(body.until) : null;
    const by = userOf(req).username;
    const state = armed ? arming.arm(site, zone, by, until) : arming.disarm(site, zone, by, until);
    res.json({ site, arming: state });
  };

  return {
    name: 'arming',
    register(app) {
      app.post('/api/sites/:site/zones/:zone/arm', allow('zones:arm'), armOrDisarm(true));
      app.post('/api/sites/:site/zones/:zone/disarm', allow('zones:arm'), armOrDisarm(false));

      app.delete('/api/sites/:site/zones/:zone/arming', allow('zones:arm'), (req: Request, res: Response) => {
        const { site, zone } = parseInput(zoneParams, req.params, 'params');
        assertSiteVisible(userOf(req), site);
        res.json({ site, arming: arming.resumeSchedule(site, zone, userOf(req).username) });
      });

      app.get('/api/sites/:site/arming', allow('state:read'), (req: Request, res: Response) => {
        const { site } = parseInput(siteParams, req.params, 'params');
        assertSiteVisible(userOf(req), site);
        const at = arming.now();
        res.json({ site, at: new Date(at).toISOString(), zones: arming.siteState(site, at) });
      });

      app.post('/api/maintenance', allow('devices:write'), (req: Request, res: Response) => {
        const body = parseInput(maintenanceBody, req.body ?? {}, 'body');
        assertSiteVisible(userOf(req), body.site);
        const window = maintenance.create({
          site: body.site,
          zone: body.zone ?? null,
          device: body.device ?? null,
          until: Date.parse(body.until),
          from: body.from === undefined ? undefined : Date.parse(body.from),
          reason: body.reason ?? null,
          by: userOf(req).username,
        });
        res.status(201).location(`/api/maintenance/${window.id}`).json({ maintenance: window });
      });

      app.get('/api/maintenance', allow('devices:read'), (req: Request, res: Response) => {
        const q = parseInput(maintenanceQuery, req.query, 'query');
        const user = userOf(req);
        const site = scopeSite(user, q.site);
        // A user restricted to several sites without ?site= gets a 400 from scopeSite.
        const items = maintenance.list(site).filter((w) => canSeeSite(user, w.site));
        res.json({ items });
      });

      app.delete('/api/maintenance/:id', allow('devices:write'), (req: Request, res: Response) => {
        const { id } = parseInput(idParams, req.params, 'params');
        const existing = maintenance.get(id);
        if (!existing || !canSeeSite(userOf(req), existing.site)) {
          throw new StoreTwinError('STW_ERR_MAINTENANCE_NOT_FOUND', `no maintenance window ${id}`);
        }
        res.json({ maintenance: maintenance.end(id) });
      });
    },
  };
}
