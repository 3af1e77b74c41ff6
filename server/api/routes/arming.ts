/**
 * Arming and maintenance routes. Sites outside the caller's scope answer 404 exactly like
 * unknown ones (server/auth/roles.ts).
 *
 * - `POST /api/sites/{site}/zones/{zone}/arm|disarm` `{until?}` (zones:arm) → `{arming}`
 * - `DELETE /api/sites/{site}/zones/{zone}/arming` (zones:arm): drop the override, back to the schedule
 * - `GET /api/sites/{site}/arming` (state:read) → `{site, at, zones: [...]}`
 * - `POST /api/maintenance` `{site, zone?|device?, until, from?, reason?}` (devices:write or
 *   zones:arm; a zone window needs zones:arm) → 201 `{maintenance}`
 * - `GET /api/maintenance?site=` (devices:read) → `{items}` (windows not yet over)
 * - `DELETE /api/maintenance/{id}` (devices:write or zones:arm; a zone window needs zones:arm):
 *   ends the window now → `{maintenance}`
 *
 * A zone window silences the zone like disarming it, so it takes the arming permission; the
 * limits on length are in server/arming/maintenance.ts (MAINTENANCE_LIMITS).
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { z } from 'zod';
import { assertSiteVisible, can, canSeeSite, scopeSite } from '../../auth/roles.ts';
import type { MaintenanceService } from '../../arming/maintenance.ts';
import type { ArmingService, ZoneArming } from '../../arming/service.ts';
import { changes } from '../../audit/index.ts';
import { StoreTwinError } from '../../errors.ts';
import { audit } from '../audit.ts';
import { allow, userOf } from '../auth.ts';
import { maintenanceSchema, zoneArmingSchema } from '../openapi/schemas.ts';
import type { ApiDeps, ApiRouteModule, RouteDoc } from '../types.ts';
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

/**
 * Maintenance is for those who work on devices (devices:write) and for those who may disarm
 * (zones:arm, who could silence more by disarming); which window each may open or end is
 * decided per window below, by `mayArm`.
 */
const allowMaintenance: RequestHandler = (req: Request, _res: Response, next: NextFunction) => {
  const { role } = userOf(req);
  if (!can(role, 'devices:write') && !can(role, 'zones:arm')) {
    throw new StoreTwinError('STW_ERR_FORBIDDEN', `role "${role}" may not open or end maintenance windows`);
  }
  next();
};

const armingAnswer = z.object({ site: z.string(), arming: zoneArmingSchema });
const maintenanceAnswer = z.object({ maintenance: maintenanceSchema });
const maintainers = { anyOf: ['devices:write', 'zones:arm'] } as const;

const docs: RouteDoc[] = [
  {
    method: 'post',
    path: '/api/sites/:site/zones/:zone/arm',
    summary: 'Arm a zone (override the schedule), until a time or until changed',
    permission: 'zones:arm',
    params: zoneParams,
    body: armBody,
    bodyExample: { until: '2026-11-24T08:00:00+08:00' },
    responses: { 200: { description: 'The zone’s arming now', schema: armingAnswer } },
    errors: ['STW_ERR_SITE_NOT_FOUND', 'STW_ERR_ZONE_NOT_FOUND'],
  },
  {
    method: 'post',
    path: '/api/sites/:site/zones/:zone/disarm',
    summary: 'Disarm a zone (override the schedule), until a time or until changed',
    permission: 'zones:arm',
    params: zoneParams,
    body: armBody,
    bodyExample: {},
    responses: { 200: { description: 'The zone’s arming now', schema: armingAnswer } },
    errors: ['STW_ERR_SITE_NOT_FOUND', 'STW_ERR_ZONE_NOT_FOUND'],
  },
  {
    method: 'delete',
    path: '/api/sites/:site/zones/:zone/arming',
    summary: 'Drop the override: the schedule decides again',
    permission: 'zones:arm',
    params: zoneParams,
    responses: { 200: { description: 'The zone’s arming now', schema: armingAnswer } },
    errors: ['STW_ERR_SITE_NOT_FOUND', 'STW_ERR_ZONE_NOT_FOUND'],
  },
  {
    method: 'get',
    path: '/api/sites/:site/arming',
    summary: 'Every zone’s arming: override or schedule',
    permission: 'state:read',
    params: siteParams,
    responses: { 200: { description: 'The site’s zones', schema: z.object({ site: z.string(), at: z.string(), zones: z.array(zoneArmingSchema) }) } },
    errors: ['STW_ERR_SITE_NOT_FOUND'],
  },
  {
    method: 'post',
    path: '/api/maintenance',
    summary: 'Open a maintenance window for a zone or a device',
    description: 'Alarms from what is under maintenance are held back (a suppressed critical one leaves an info record). A zone window, or a device window longer than 8 h, needs `zones:arm`.',
    permission: maintainers,
    body: maintenanceBody,
    bodyExample: { site: 'demo-hotel', device: 'door-2-01', until: '2026-11-23T12:00:00+08:00', reason: 'battery change' },
    responses: { 201: { description: 'Opened; `Location` names it', schema: maintenanceAnswer } },
    errors: ['STW_ERR_SITE_NOT_FOUND', 'STW_ERR_ZONE_NOT_FOUND', 'STW_ERR_DEVICE_NOT_FOUND'],
  },
  {
    method: 'get',
    path: '/api/maintenance',
    summary: 'Maintenance windows not yet over',
    permission: 'devices:read',
    query: maintenanceQuery,
    responses: { 200: { description: 'Windows in force or to come', schema: z.object({ items: z.array(maintenanceSchema) }) } },
    errors: ['STW_ERR_SITE_NOT_FOUND'],
  },
  {
    method: 'delete',
    path: '/api/maintenance/:id',
    summary: 'End a maintenance window now',
    permission: maintainers,
    params: idParams,
    responses: { 200: { description: 'The window as ended', schema: maintenanceAnswer } },
    errors: ['STW_ERR_MAINTENANCE_NOT_FOUND'],
  },
];

export function armingRoutes(deps: ArmingRoutesDeps): ApiRouteModule {
  const { arming, maintenance } = deps;

  /** What the audit log keeps of a zone's arming. */
  const armingOf = (z: ZoneArming) => ({ armed: z.armed, source: z.source, until: z.until });

  const armOrDisarm = (api: ApiDeps, armed: boolean) => async (req: Request, res: Response) => {
    const { site, zone } = parseInput(zoneParams, req.params, 'params');
    assertSiteVisible(userOf(req), site);
    // An empty POST (no body, no content type) is `{}`.
    const body = parseInput(armBody, req.body ?? {}, 'body');
    const until = body.until ? Date.parse(body.until) : null;
    const by = userOf(req).username;
    // Throws the same not-found the change itself would.
    const before = arming.zoneState(site, zone);
    const state = armed ? await arming.arm(site, zone, by, until) : await arming.disarm(site, zone, by, until);
    await audit(api, req, { action: armed ? 'zone.armed' : 'zone.disarmed', site, target: { kind: 'zone', id: zone }, ...changes(armingOf(before), armingOf(state)) });
    res.json({ site, arming: state });
  };

  return {
    name: 'arming',
    docs,
    register(app, api) {
      app.post('/api/sites/:site/zones/:zone/arm', allow('zones:arm'), armOrDisarm(api, true));
      app.post('/api/sites/:site/zones/:zone/disarm', allow('zones:arm'), armOrDisarm(api, false));

      app.delete('/api/sites/:site/zones/:zone/arming', allow('zones:arm'), async (req: Request, res: Response) => {
        const { site, zone } = parseInput(zoneParams, req.params, 'params');
        assertSiteVisible(userOf(req), site);
        const before = arming.zoneState(site, zone);
        const state = await arming.resumeSchedule(site, zone, userOf(req).username);
        await audit(api, req, { action: 'zone.schedule_resumed', site, target: { kind: 'zone', id: zone }, ...changes(armingOf(before), armingOf(state)) });
        res.json({ site, arming: state });
      });

      app.get('/api/sites/:site/arming', allow('state:read'), (req: Request, res: Response) => {
        const { site } = parseInput(siteParams, req.params, 'params');
        assertSiteVisible(userOf(req), site);
        const at = arming.now();
        res.json({ site, at: new Date(at).toISOString(), zones: arming.siteState(site, at) });
      });

      app.post('/api/maintenance', allowMaintenance, async (req: Request, res: Response) => {
        const body = parseInput(maintenanceBody, req.body ?? {}, 'body');
        const user = userOf(req);
        assertSiteVisible(user, body.site);
        const window = await maintenance.create({
          site: body.site,
          zone: body.zone ?? null,
          device: body.device ?? null,
          until: Date.parse(body.until),
          from: body.from === undefined ? undefined : Date.parse(body.from),
          reason: body.reason ?? null,
          by: user.username,
          mayArm: can(user.role, 'zones:arm'),
        });
        await audit(api, req, {
          action: 'maintenance.opened',
          site: window.site,
          target: { kind: 'maintenance', id: String(window.id) },
          after: { zone: window.zone, device: window.device, from: window.from, until: window.until, reason: window.reason },
        });
        res.status(201).location(`/api/maintenance/${window.id}`).json({ maintenance: window });
      });

      app.get('/api/maintenance', allow('devices:read'), async (req: Request, res: Response) => {
        const q = parseInput(maintenanceQuery, req.query, 'query');
        const user = userOf(req);
        const site = scopeSite(user, q.site);
        // A user restricted to several sites without ?site= gets a 400 from scopeSite.
        const items = (await maintenance.list(site)).filter((w) => canSeeSite(user, w.site));
        res.json({ items });
      });

      app.delete('/api/maintenance/:id', allowMaintenance, async (req: Request, res: Response) => {
        const { id } = parseInput(idParams, req.params, 'params');
        const user = userOf(req);
        const existing = await maintenance.get(id);
        // 404 before 403: a window of an invisible site does not exist for this caller.
        if (!existing || !canSeeSite(user, existing.site)) {
          throw new StoreTwinError('STW_ERR_MAINTENANCE_NOT_FOUND', `no maintenance window ${id}`);
        }
        const ended = await maintenance.end(id, { mayArm: can(user.role, 'zones:arm') });
        await audit(api, req, { action: 'maintenance.ended', site: ended.site, target: { kind: 'maintenance', id: String(id) }, detail: { zone: ended.zone, device: ended.device }, ...changes({ until: existing.until }, { until: ended.until }) });
        res.json({ maintenance: ended });
      });
    },
  };
}
