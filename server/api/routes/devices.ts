/**
 * Device registration. The secret is returned by POST and by secret rotation only; every other
 * answer is a PublicDevice (no secret, no hash). Devices outside the caller's sites are 404.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import { IMPORT_LIMITS, IMPORT_OPTIONAL_COLUMNS, IMPORT_REQUIRED_COLUMNS, type ImportAnswer } from '../../../protocol/devices.ts';
import { assertSiteVisible, canSeeSite, scopeSite } from '../../auth/roles.ts';
import { changes, deviceFields } from '../../audit/index.ts';
import { StoreTwinError } from '../../errors.ts';
import { importDevicesCsv } from '../../registry/csv-import.ts';
import { deviceInputSchema, deviceUpdateSchema, toPublicDevice, type SiteDirectory } from '../../registry/devices.ts';
import { ID_PATTERN } from '../../sites/model.ts';
import type { DeviceRecord } from '../../storage/types.ts';
import { audit, auditMany } from '../audit.ts';
import { allow, userOf } from '../auth.ts';
import { deviceSchema, pageOf } from '../openapi/schemas.ts';
import type { ApiDeps, ApiRouteModule, RouteDoc } from '../types.ts';
import { limitSchema, parseInput, queryString } from '../validate.ts';

const listQuery = z
  .object({
    site: queryString.optional(),
    type: queryString.optional(),
    zone: queryString.optional(),
    limit: limitSchema,
    cursor: queryString.optional(),
  })
  .strict();

const deviceParams = z.object({ device: z.string().min(1).max(200) });

function visibleDevice(deps: ApiDeps, req: Request): DeviceRecord {
  const { device: id } = parseInput(deviceParams, req.params, 'params');
  const rec = deps.registry.getDevice(id);
  if (!rec || !canSeeSite(userOf(req), rec.site)) throw new StoreTwinError('STW_ERR_DEVICE_NOT_FOUND', `no device "${id}"`);
  return rec;
}

/** The site model as the import checks zones against it. */
function siteDirectory(deps: ApiDeps): SiteDirectory {
  return {
    get: (id) => deps.sites.get(id),
    zone: (id, zone) => deps.sites.get(id)?.floors.flatMap((f) => f.zones).find((z) => z.id === zone),
  };
}

const importQuery = z.object({ site: z.string().regex(ID_PATTERN, 'a site id') }).strict();

/**
 * The import's body: CSV text up to IMPORT_LIMITS.bytes (the API's JSON limit is 64 kB; a
 * site's devices in CSV are ~60 bytes a row, so 1 MB holds the 5,000-row limit). Read only
 * after the role check, and past the limit answered with the import's own coded 413.
 */
const csvText = express.text({ type: ['text/csv', 'text/plain', 'application/csv'], limit: IMPORT_LIMITS.bytes });
function csvBody(req: Request, res: Response, next: NextFunction): void {
  csvText(req, res, (err?: unknown) => {
    if ((err as { type?: string } | undefined)?.type === 'entity.too.large') {
      return next(new StoreTwinError('STW_ERR_IMPORT_TOO_LARGE', `the file is larger than ${IMPORT_LIMITS.bytes / 1024 / 1024} MB: split it`));
    }
    next(err);
  });
}

const importedSchema = z.object({
  site: z.string(),
  devices: z.array(z.object({ device: deviceSchema, secret: z.string().describe('the MQTT password: shown this once') })),
});

const deviceAnswer = z.object({ device: deviceSchema });
const deviceWithSecret = z.object({ device: deviceSchema, secret: z.string().describe('the MQTT password: shown this once, stored only as a hash') });

const docs: RouteDoc[] = [
  {
    method: 'get',
    path: '/api/devices',
    summary: 'List registered devices',
    description: 'Keyset-paged. A user limited to several sites passes `site`; one limited to a single site gets it applied.',
    permission: 'devices:read',
    query: listQuery,
    responses: { 200: { description: 'A page of devices (never a secret or its hash)', schema: pageOf(deviceSchema) } },
    errors: ['STW_ERR_SITE_NOT_FOUND'],
  },
  {
    method: 'post',
    path: '/api/devices',
    summary: 'Register a device and issue its MQTT secret',
    description: 'The answer is the only time the secret is shown. `type` is a device type id (GET /api/device-types); `externalIds` names the device on platforms that push for it.',
    permission: 'devices:write',
    body: deviceInputSchema,
    bodyExample: { id: 'door-2-01', site: 'demo-hotel', type: 'door-sensor', zone: '2-01', label: 'Room 201 door', externalIds: { imei: '864475040123456' } },
    responses: { 201: { description: 'Registered; `Location` names it', schema: deviceWithSecret } },
    errors: ['STW_ERR_SITE_NOT_FOUND', 'STW_ERR_ZONE_NOT_FOUND', 'STW_ERR_DEVICE_TYPE_UNKNOWN', 'STW_ERR_DEVICE_EXISTS', 'STW_ERR_DEVICE_ID_UNAVAILABLE', 'STW_ERR_EXTERNAL_ID_TAKEN'],
  },
  {
    method: 'post',
    path: '/api/devices/import',
    summary: 'Register many devices from a CSV file, all or none',
    description: [
      `The body is CSV (\`text/csv\`, UTF-8, at most ${IMPORT_LIMITS.bytes / 1024 / 1024} MB and ${IMPORT_LIMITS.rows} devices): a header row naming the columns — \`${IMPORT_REQUIRED_COLUMNS.join('`, `')}\` required; \`${IMPORT_OPTIONAL_COLUMNS.join('`, `')}\` optional (one column per external-id platform) — then one device a row, all into \`site\`.`,
      'Every row is checked first; a file with any problem registers nothing and answers 400 `STW_ERR_IMPORT_INVALID` with every problem in `detail.problems` (`line`, `column`, `code`, `message`, `value`). A clean file is stored in one transaction and the answer holds each device’s secret, shown this once.',
    ].join('\n\n'),
    permission: 'devices:write',
    query: importQuery,
    rawBody: {
      description: 'CSV: a header row, then one device a row',
      examples: [{ name: 'Two door sensors and a camera', contentType: 'text/csv', body: 'id,type,zone,label,imei\r\ndoor-2-01,door-sensor,2-01,Room 201,864475040123456\r\ndoor-2-02,door-sensor,2-02,,864475040123457\r\ncam-lobby-2,camera,lobby,"Lobby, east",\r\n' }],
    },
    responses: { 201: { description: 'Every device registered, with its secret (shown this once)', schema: importedSchema } },
    errors: ['STW_ERR_SITE_NOT_FOUND', 'STW_ERR_IMPORT_INVALID', 'STW_ERR_IMPORT_TOO_LARGE', 'STW_ERR_DEVICE_EXISTS', 'STW_ERR_EXTERNAL_ID_TAKEN'],
  },
  {
    method: 'get',
    path: '/api/devices/:device',
    summary: 'One device',
    permission: 'devices:read',
    params: deviceParams,
    responses: { 200: { description: 'The device', schema: deviceAnswer } },
    errors: ['STW_ERR_DEVICE_NOT_FOUND'],
  },
  {
    method: 'patch',
    path: '/api/devices/:device',
    summary: 'Change a device’s zone, label, position, external ids or enabled',
    description: 'Disabling disconnects the device. `id`, `site` and `type` cannot change: register a new device.',
    permission: 'devices:write',
    params: deviceParams,
    body: deviceUpdateSchema,
    bodyExample: { label: 'Room 201 door (new)', enabled: false },
    responses: { 200: { description: 'The device as changed', schema: deviceAnswer } },
    errors: ['STW_ERR_DEVICE_NOT_FOUND', 'STW_ERR_ZONE_NOT_FOUND', 'STW_ERR_EXTERNAL_ID_TAKEN'],
  },
  {
    method: 'delete',
    path: '/api/devices/:device',
    summary: 'Remove a device',
    description: 'A connected device is disconnected; its stored events stay.',
    permission: 'devices:write',
    params: deviceParams,
    responses: { 204: { description: 'Removed' } },
    errors: ['STW_ERR_DEVICE_NOT_FOUND'],
  },
  {
    method: 'post',
    path: '/api/devices/:device/secret',
    summary: 'Issue a new MQTT secret',
    description: 'The old secret stops working and the device is disconnected.',
    permission: 'devices:write',
    params: deviceParams,
    responses: { 200: { description: 'The device and its new secret, shown this once', schema: deviceWithSecret } },
    errors: ['STW_ERR_DEVICE_NOT_FOUND'],
  },
];

export const deviceRoutes: ApiRouteModule = {
  name: 'devices',
  docs,
  register(app, deps) {
    app.get('/api/devices', allow('devices:read'), async (req: Request, res: Response) => {
      const q = parseInput(listQuery, req.query, 'query');
      const site = scopeSite(userOf(req), q.site);
      const page = await deps.devices.list({ site, type: q.type, zone: q.zone, limit: q.limit, cursor: q.cursor });
      res.json({ items: page.items.map(toPublicDevice), nextCursor: page.nextCursor });
    });

    app.post('/api/devices', allow('devices:write'), async (req: Request, res: Response) => {
      // Validated here (same schema as the registrar) so the site scope is checked on clean input.
      const input = parseInput(deviceInputSchema, req.body, 'body');
      assertSiteVisible(userOf(req), input.site);
      // Ids are unique across sites (a device logs in to MQTT with it). A taken id the caller
      // cannot see answers like an account's name does, never "exists", so a technician of one
      // store cannot enumerate another store's devices.
      const existing = deps.registry.getDevice(input.id);
      if (existing && !canSeeSite(userOf(req), existing.site)) throw new StoreTwinError('STW_ERR_DEVICE_ID_UNAVAILABLE', `"${input.id}" cannot be used: choose another id`);
      const { device, secret } = await deps.devices.register(input);
      deps.logger.info({ device: device.id, site: device.site, by: userOf(req).username }, 'device registered');
      await audit(deps, req, { action: 'device.registered', site: device.site, target: { kind: 'device', id: device.id }, after: deviceFields(device) });
      res.status(201).location(`/api/devices/${encodeURIComponent(device.id)}`).json({ device, secret });
    });

    app.post('/api/devices/import', allow('devices:write'), csvBody, async (req: Request, res: Response) => {
      const { site } = parseInput(importQuery, req.query, 'query');
      assertSiteVisible(userOf(req), site);
      if (!deps.sites.get(site)) throw new StoreTwinError('STW_ERR_SITE_NOT_FOUND', `no site "${site}"`);
      if (typeof req.body !== 'string') throw new StoreTwinError('STW_ERR_VALIDATION', 'send the CSV as the body with Content-Type: text/csv');
      const user = userOf(req);
      const answer: ImportAnswer = await importDevicesCsv(req.body, site, { registry: deps.registry, accounts: deps.accounts, sites: siteDirectory(deps), devices: deps.devices, canSee: (s) => canSeeSite(user, s) });
      // Right after the import's commit, its audit entries in one transaction of their own (the
      // log may live in another database than the registry).
      await auditMany(deps, req, answer.devices.map(({ device }) => ({ action: 'device.registered' as const, site: device.site, target: { kind: 'device' as const, id: device.id }, after: deviceFields(device) })));
      deps.logger.info({ site, devices: answer.devices.length, by: user.username }, 'devices imported');
      res.status(201).json(answer);
    });

    app.get('/api/devices/:device', allow('devices:read'), (req: Request, res: Response) => {
      res.json({ device: toPublicDevice(visibleDevice(deps, req)) });
    });

    app.patch('/api/devices/:device', allow('devices:write'), async (req: Request, res: Response) => {
      const rec = visibleDevice(deps, req);
      // Strict: unknown or immutable fields (id, site, type) are refused, not ignored.
      const patch = parseInput(deviceUpdateSchema, req.body, 'body');
      const device = await deps.devices.update(rec.id, patch);
      await audit(deps, req, { action: 'device.updated', site: device.site, target: { kind: 'device', id: device.id }, ...changes(deviceFields(rec), deviceFields(device)) });
      res.json({ device });
    });

    app.delete('/api/devices/:device', allow('devices:write'), async (req: Request, res: Response) => {
      const rec = visibleDevice(deps, req);
      await deps.devices.remove(rec.id);
      deps.logger.info({ device: rec.id, site: rec.site, by: userOf(req).username }, 'device removed');
      await audit(deps, req, { action: 'device.removed', site: rec.site, target: { kind: 'device', id: rec.id }, before: deviceFields(rec) });
      res.status(204).end();
    });

    app.post('/api/devices/:device/secret', allow('devices:write'), async (req: Request, res: Response) => {
      const rec = visibleDevice(deps, req);
      const { device, secret } = await deps.devices.rotateSecret(rec.id);
      deps.logger.info({ device: rec.id, by: userOf(req).username }, 'device secret rotated');
      // That it was rotated; never the secret.
      await audit(deps, req, { action: 'device.secret_rotated', site: device.site, target: { kind: 'device', id: device.id } });
      res.json({ device, secret });
    });
  },
};
