/**
 * Integrations in the API: the push endpoint platforms call (`/api/ingest/{adapter}`, public:
 * it authenticates by the integration's token, not a user's), and the admin routes that create,
 * list, change, re-key and remove integrations, plus the devices they named that nobody has
 * registered yet (for whoever registers devices).
 */
import express, { type Express, type Request, type Response } from 'express';
import { z } from 'zod';
import { canSeeSite, scopeSite } from '../../auth/roles.ts';
import { StoreTwinError } from '../../errors.ts';
import { adapters, getAdapter } from '../../integrations/adapters/index.ts';
import type { PushRequest } from '../../integrations/adapters/types.ts';
import type { IntegrationService, PublicIntegration } from '../../integrations/service.ts';
import { changes } from '../../audit/index.ts';
import { audit } from '../audit.ts';
import { allow, userOf } from '../auth.ts';
import { ingestDocs } from '../openapi/push.ts';
import { isoTime, sameKeys } from '../openapi/schemas.ts';
import type { ApiDeps, ApiRouteModule, RouteDoc } from '../types.ts';
import { parseInput, queryString } from '../validate.ts';

export interface IntegrationRouteDeps {
  integrations: IntegrationService;
  /** Largest push body, bytes (config integrations.maxPushBytes). */
  maxPushBytes: number;
  /** Absolute base for the push URL shown once at creation (config publicUrl), else the request's host. */
  publicUrl?: string | null;
}

export const integrationInputSchema = z
  .object({
    adapter: z.string().min(1).max(40),
    site: z.string().min(1).max(100),
    name: z.string().trim().min(1).max(80).optional(),
    settings: z.record(z.string(), z.unknown()).optional(),
    enabled: z.boolean().optional(),
  })
  .strict();

export const integrationUpdateSchema = z
  .object({
    name: z.string().trim().min(1).max(80),
    enabled: z.boolean(),
    settings: z.record(z.string(), z.unknown()),
  })
  .partial()
  .strict();

export const integrationListQuery = z.object({ site: queryString.optional() }).strict();
const integrationParams = z.object({ id: z.string().min(1).max(100) });
const adapterParams = z.object({ adapter: z.string().min(1).max(100) });

const counts = z.object({ accepted: z.number().int(), duplicates: z.number().int(), unknown: z.number().int(), refused: z.number().int() });
const integrationSchema = sameKeys<PublicIntegration>()(
  z.object({
    id: z.string(),
    adapter: z.string(),
    site: z.string(),
    name: z.string(),
    delivery: z.enum(['push', 'connector']),
    pushPath: z.string().nullable().describe('where the platform pushes to, without the token; null for connectors'),
    settings: z.record(z.string(), z.unknown()).describe("the adapter's settings; secret ones as ••••••"),
    enabled: z.boolean(),
    createdAt: isoTime,
    updatedAt: isoTime,
    lastMessageAt: isoTime.nullable(),
    counts,
    lastError: z.object({ code: z.string(), message: z.string(), at: isoTime }).nullable(),
  }),
);
const withToken = z.object({
  id: z.string(),
  token: z.string().describe('shown this once'),
  pushUrl: z.string().nullable().describe('the URL to paste into the platform, token included; null for connectors'),
  integration: integrationSchema,
});
const unknownDeviceSchema = z.object({
  integration: z.string(),
  adapter: z.string(),
  site: z.string(),
  ids: z.record(z.string(), z.string()).describe('the platform ids, normalised as externalIds are'),
  describe: z.record(z.string(), z.string()).nullable().describe('what the platform said the device is'),
  firstSeen: isoTime,
  lastSeen: isoTime,
  messages: z.number().int(),
});
const adapterInfoSchema = z.object({
  id: z.string(),
  label: z.object({ en: z.string(), 'zh-CN': z.string() }),
  delivery: z.enum(['push', 'connector']),
  externalIdKeys: z.array(z.string()),
  secretSettings: z.array(z.string()),
  settingsSchema: z.record(z.string(), z.unknown()).describe('JSON Schema of the settings'),
});
const NOT_FOUND = ['STW_ERR_INTEGRATION_NOT_FOUND'] as const;

const integrationDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/api/integrations/adapters',
    summary: 'The integration adapters and the settings each takes',
    permission: 'devices:read',
    responses: { 200: { description: 'Every adapter', schema: z.object({ items: z.array(adapterInfoSchema) }) } },
  },
  {
    method: 'get',
    path: '/api/integrations/unknown-devices',
    summary: 'Devices integrations heard of that nobody registered',
    description: 'Register one with `POST /api/devices` and one of its ids in `externalIds`: it drops off the list and its next message is stored.',
    permission: 'devices:write',
    query: integrationListQuery,
    responses: { 200: { description: 'Unknown devices, most recently heard first', schema: z.object({ items: z.array(unknownDeviceSchema) }) } },
    errors: ['STW_ERR_SITE_NOT_FOUND'],
  },
  {
    method: 'get',
    path: '/api/integrations',
    summary: 'Integrations of the sites you may see, with their counters and last error',
    permission: 'integrations:manage',
    query: integrationListQuery,
    responses: { 200: { description: 'Integrations', schema: z.object({ items: z.array(integrationSchema) }) } },
    errors: ['STW_ERR_SITE_NOT_FOUND'],
  },
  {
    method: 'post',
    path: '/api/integrations',
    summary: 'Create an integration: its token is shown once',
    description: 'Settings are checked against the adapter (`GET /api/integrations/adapters`). A connector adapter (Axis, Frigate) starts polling or subscribing at once.',
    permission: 'integrations:manage',
    body: integrationInputSchema,
    bodyExample: { adapter: 'ctwing', site: 'demo-hotel', name: 'CTWing door magnets' },
    responses: { 201: { description: 'Created', schema: withToken } },
    errors: ['STW_ERR_ADAPTER_UNKNOWN', 'STW_ERR_SITE_NOT_FOUND', 'STW_ERR_INTEGRATION_SETTINGS_INVALID'],
  },
  {
    method: 'get',
    path: '/api/integrations/:id',
    summary: 'One integration',
    permission: 'integrations:manage',
    params: integrationParams,
    responses: { 200: { description: 'The integration', schema: z.object({ integration: integrationSchema }) } },
    errors: NOT_FOUND,
  },
  {
    method: 'patch',
    path: '/api/integrations/:id',
    summary: 'Rename, enable or disable, change settings',
    description: 'Settings merge key by key into the stored ones; `••••••` keeps a secret as it is.',
    permission: 'integrations:manage',
    params: integrationParams,
    body: integrationUpdateSchema,
    bodyExample: { enabled: false },
    responses: { 200: { description: 'The integration as it is now', schema: z.object({ integration: integrationSchema }) } },
    errors: [...NOT_FOUND, 'STW_ERR_INTEGRATION_SETTINGS_INVALID'],
  },
  {
    method: 'post',
    path: '/api/integrations/:id/token',
    summary: 'Issue a new token; the old one stops working at once',
    permission: 'integrations:manage',
    params: integrationParams,
    responses: { 200: { description: 'The new token, shown this once', schema: withToken.omit({ id: true }) } },
    errors: NOT_FOUND,
  },
  {
    method: 'delete',
    path: '/api/integrations/:id',
    summary: 'Remove an integration (its connector stops)',
    permission: 'integrations:manage',
    params: integrationParams,
    responses: { 204: { description: 'Removed' } },
    errors: NOT_FOUND,
  },
];

/** The integration's token: `?token=` (platforms often cannot set headers) or a bearer header. */
function pushToken(req: Request): string | undefined {
  const q = req.query.token;
  if (typeof q === 'string' && q !== '') return q;
  const header = req.get('authorization');
  const m = header === undefined ? null : /^Bearer\s+(\S+)$/i.exec(header);
  return m?.[1];
}

/** The media type lower-cased, parameters as sent: a multipart boundary is case-sensitive. */
function contentTypeOf(req: Request): string {
  const header = req.get('content-type') ?? '';
  const semi = header.indexOf(';');
  return semi < 0 ? header.trim().toLowerCase() : header.slice(0, semi).trim().toLowerCase() + header.slice(semi);
}

function pushRequest(req: Request): PushRequest {
  const query: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.query)) {
    if (k === 'token') continue;
    const first = Array.isArray(v) ? v[0] : v;
    if (typeof first === 'string') query[k] = first;
  }
  return {
    method: req.method === 'GET' ? 'GET' : 'POST',
    body: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
    contentType: contentTypeOf(req),
    query,
  };
}

function pushUrl(deps: IntegrationRouteDeps, req: Request, integration: PublicIntegration, token: string): string | null {
  if (integration.pushPath === null) return null;
  const base = deps.publicUrl?.replace(/\/+$/, '') ?? `${req.protocol}://${req.get('host') ?? 'localhost'}`;
  return `${base}${integration.pushPath}?token=${encodeURIComponent(token)}`;
}

/** The push endpoint: mounted before the API's JSON parser and authentication (server/api/app.ts). */
export function ingestRoutes(deps: IntegrationRouteDeps): ApiRouteModule {
  return {
    name: 'ingest',
    public: true,
    docs: ingestDocs(),
    register(app: Express) {
      // The raw bytes whatever the type: adapters read JSON, XML and multipart themselves, and
      // OneNET's signature is over the body's exact text. One byte over the cap is a 413.
      const raw = express.raw({ type: () => true, limit: deps.maxPushBytes });
      const readBody = (req: Request, res: Response) =>
        new Promise<unknown>((resolve) => {
          void raw(req, res, (err?: unknown) => resolve(err));
        });
      const handle = async (req: Request, res: Response) => {
        const { adapter } = parseInput(adapterParams, req.params, 'params');
        const bodyError = req.method === 'POST' ? await readBody(req, res) : undefined;
        const answer =
          bodyError === undefined
            ? await deps.integrations.push(adapter, pushToken(req), pushRequest(req))
            : await deps.integrations.refuseBody(adapter, pushToken(req), bodyError);
        if (answer.retryAfterS !== undefined) res.setHeader('Retry-After', String(answer.retryAfterS));
        // A body left unread (refused over the cap) must not be taken for the next request.
        if (bodyError !== undefined) res.setHeader('Connection', 'close');
        res.status(answer.status).type(answer.contentType).send(answer.body);
      };
      app.post('/api/ingest/:adapter', handle);
      // OneNET verifies the URL with a GET before it pushes.
      app.get('/api/ingest/:adapter', handle);
    },
  };
}

export function integrationRoutes(deps: IntegrationRouteDeps): ApiRouteModule {
  const { integrations } = deps;
  const visible = async (req: Request, id: string): Promise<PublicIntegration> => {
    const rec = await integrations.get(id);
    if (!rec || !canSeeSite(userOf(req), rec.site)) throw new StoreTwinError('STW_ERR_INTEGRATION_NOT_FOUND', `no integration "${id}"`);
    return integrations.toPublic(rec);
  };
  const target = (i: PublicIntegration) => ({ kind: 'integration' as const, id: i.id, name: i.name });
  // What the audit log keeps of an integration: secret settings (shown masked) are left out whole.
  const fields = (i: PublicIntegration) => ({
    adapter: i.adapter,
    name: i.name,
    enabled: i.enabled,
    settings: Object.fromEntries(Object.entries(i.settings).filter(([key]) => !(getAdapter(i.adapter)?.secretSettings ?? []).includes(key))),
  });
  return {
    name: 'integrations',
    docs: integrationDocs,
    register(app: Express, api: ApiDeps) {
      app.get('/api/integrations/adapters', allow('devices:read'), (_req: Request, res: Response) => {
        res.json({
          items: adapters.map((a) => ({
            id: a.id,
            label: a.label,
            delivery: a.delivery,
            externalIdKeys: a.externalIdKeys,
            secretSettings: a.secretSettings ?? [],
            settingsSchema: z.toJSONSchema(a.settingsSchema, { io: 'input', unrepresentable: 'any' }),
          })),
        });
      });

      // Before /:id. Whoever registers devices sees what integrations heard from unregistered ones.
      app.get('/api/integrations/unknown-devices', allow('devices:write'), async (req: Request, res: Response) => {
        const q = parseInput(integrationListQuery, req.query, 'query');
        const site = scopeSite(userOf(req), q.site);
        const user = userOf(req);
        const items = (await integrations.unknownDevices()).filter((u) => canSeeSite(user, u.site) && (site === undefined || u.site === site));
        res.json({ items });
      });

      app.get('/api/integrations', allow('integrations:manage'), async (req: Request, res: Response) => {
        const q = parseInput(integrationListQuery, req.query, 'query');
        const site = scopeSite(userOf(req), q.site);
        const user = userOf(req);
        res.json({ items: (await integrations.list()).filter((i) => canSeeSite(user, i.site) && (site === undefined || i.site === site)) });
      });

      app.post('/api/integrations', allow('integrations:manage'), async (req: Request, res: Response) => {
        const input = parseInput(integrationInputSchema, req.body, 'body');
        if (!canSeeSite(userOf(req), input.site)) throw new StoreTwinError('STW_ERR_SITE_NOT_FOUND', `no site "${input.site}"`);
        const { integration, token } = await integrations.create(input);
        await audit(api, req, { action: 'integration.created', site: integration.site, target: target(integration), after: fields(integration) });
        // DESIGN.md: the answer carries `id` and `token` at its top level.
        res.status(201).location(`/api/integrations/${integration.id}`).json({ id: integration.id, token, pushUrl: pushUrl(deps, req, integration, token), integration });
      });

      app.get('/api/integrations/:id', allow('integrations:manage'), async (req: Request, res: Response) => {
        const { id } = parseInput(integrationParams, req.params, 'params');
        res.json({ integration: await visible(req, id) });
      });

      app.patch('/api/integrations/:id', allow('integrations:manage'), async (req: Request, res: Response) => {
        const { id } = parseInput(integrationParams, req.params, 'params');
        const before = await visible(req, id);
        const patch = parseInput(integrationUpdateSchema, req.body, 'body');
        const integration = await integrations.update(id, patch);
        await audit(api, req, { action: 'integration.updated', site: integration.site, target: target(integration), ...changes(fields(before), fields(integration)) });
        res.json({ integration });
      });

      app.post('/api/integrations/:id/token', allow('integrations:manage'), async (req: Request, res: Response) => {
        const { id } = parseInput(integrationParams, req.params, 'params');
        await visible(req, id);
        const { integration, token } = await integrations.rotateToken(id);
        await audit(api, req, { action: 'integration.token_rotated', site: integration.site, target: target(integration) });
        res.json({ integration, token, pushUrl: pushUrl(deps, req, integration, token) });
      });

      app.delete('/api/integrations/:id', allow('integrations:manage'), async (req: Request, res: Response) => {
        const { id } = parseInput(integrationParams, req.params, 'params');
        const before = await visible(req, id);
        await integrations.remove(id);
        await audit(api, req, { action: 'integration.removed', site: before.site, target: target(before) });
        res.status(204).end();
      });
    },
  };
}
