/**
 * The notification routes over HTTP: which routes are in force (notify.yaml as last loaded) and
 * a test message through one of them. Both need integrations:manage (admins). An admin limited
 * to some sites sees only the routes declared under those sites — not the '*' routes, which
 * reach every site's alarms — and anything else is 404, as if it did not exist. Targets are
 * shown without their secrets (query strings, user info, secret-looking path segments).
 */
import type { Request, Response } from 'express';
import { z } from 'zod';
import { canSeeSite } from '../../auth/roles.ts';
import type { PublicUser } from '../../auth/users.ts';
import { StoreTwinError } from '../../errors.ts';
import { routeSummaries, type NotifyConfigFile, type RouteSummary } from '../../notify/config-file.ts';
import type { RouteTester } from '../../notify/test-send.ts';
import { allow, userOf } from '../auth.ts';
import type { ApiRouteModule, RouteDoc } from '../types.ts';
import { parseInput } from '../validate.ts';

const idParams = z.object({ id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'must be a route id') });
const testBody = z.strictObject({ site: z.string().regex(/^(\*|[a-z0-9][a-z0-9-]{0,62})$/, "must be a site id or '*'").optional() });

const routeSummary = z.object({
  id: z.string(),
  site: z.string().describe("a site id, or '*' for every site"),
  channel: z.string().describe('webhook or email'),
  preset: z.string().nullable().describe('wecom, dingtalk, feishu, slack, generic…; null for email'),
  severities: z.array(z.string()),
  hours: z.unknown().describe('on-call windows in site-local time; null = always'),
  language: z.unknown(),
  target: z.string().describe('the URL without secrets, or the addresses'),
});

const docs: RouteDoc[] = [
  {
    method: 'get',
    path: '/api/notify/routes',
    summary: 'The notification routes in force (notify.yaml as last loaded)',
    description: 'An admin limited to some sites sees only the routes declared under those sites. `rejected` tells that the last edit of the file was refused (the previous routes stay in force).',
    permission: 'integrations:manage',
    responses: {
      200: {
        description: 'The routes',
        schema: z.object({ items: z.array(routeSummary), loadedAt: z.string(), file: z.string(), rejected: z.object({ at: z.string(), message: z.string().optional() }).nullable() }),
      },
    },
  },
  {
    method: 'post',
    path: '/api/notify/routes/:id/test',
    summary: 'Send a test message through one route',
    description: 'Route ids are unique per site: name the site when several sites have the id.',
    permission: 'integrations:manage',
    params: idParams,
    body: testBody,
    bodyExample: { site: 'demo-hotel' },
    responses: {
      200: {
        description: 'Delivered',
        schema: z.object({ delivered: z.literal(true), status: z.number().nullable(), route: z.object({ id: z.string(), site: z.string(), channel: z.string(), preset: z.string().nullable(), target: z.string() }) }),
      },
    },
    errors: ['STW_ERR_NOTIFY_ROUTE_NOT_FOUND', 'STW_ERR_NOTIFY_TEST_FAILED'],
  },
];

export interface NotifyRoutesDeps {
  file: Pick<NotifyConfigFile, 'current' | 'loadedAt' | 'rejected' | 'file'>;
  tester: Pick<RouteTester, 'send'>;
}

function visible(user: PublicUser, route: RouteSummary): boolean {
  if (user.sites.length === 0) return true;
  return route.site !== '*' && canSeeSite(user, route.site);
}

export function notifyRoutes(deps: NotifyRoutesDeps): ApiRouteModule {
  return {
    name: 'notify',
    docs,
    register(app) {
      app.get('/api/notify/routes', allow('integrations:manage'), (req: Request, res: Response) => {
        const user = userOf(req);
        const rejected = deps.file.rejected;
        res.json({
          items: routeSummaries(deps.file.current).filter((r) => visible(user, r)),
          loadedAt: new Date(deps.file.loadedAt).toISOString(),
          file: deps.file.file,
          // The problems quote the file, other sites' routes included: only for an admin of every site.
          rejected: rejected && { at: new Date(rejected.at).toISOString(), ...(user.sites.length === 0 ? { message: rejected.message } : {}) },
        });
      });

      app.post('/api/notify/routes/:id/test', allow('integrations:manage'), async (req: Request, res: Response) => {
        const { id } = parseInput(idParams, req.params, 'params');
        const body = parseInput(testBody, req.body ?? {}, 'body');
        const user = userOf(req);
        const candidates = routeSummaries(deps.file.current).filter((r) => r.id === id && (body.site === undefined || r.site === body.site) && visible(user, r));
        if (candidates.length === 0) throw new StoreTwinError('STW_ERR_NOTIFY_ROUTE_NOT_FOUND', `no notification route "${id}"${body.site ? ` for site ${body.site}` : ''}`);
        if (candidates.length > 1) {
          // Route ids are unique per site only.
          throw new StoreTwinError('STW_ERR_VALIDATION', `route "${id}" exists for several sites: name one in the body`, [
            { path: ['site'], message: `one of: ${candidates.map((r) => r.site).join(', ')}` },
          ]);
        }
        const route = candidates[0]!;
        const result = await deps.tester.send(route.site, route.id, user.username);
        // Removed by a reload between the lookup and the send.
        if (!result) throw new StoreTwinError('STW_ERR_NOTIFY_ROUTE_NOT_FOUND', `no notification route "${id}"`);
        if (!result.delivered) {
          throw new StoreTwinError('STW_ERR_NOTIFY_TEST_FAILED', `the test message through ${route.site}/${route.id} was not delivered: ${result.error ?? 'no answer'}`, {
            delivered: false,
            status: result.status,
            error: result.error ?? null,
          });
        }
        res.json({ delivered: true, status: result.status, route: { id: route.id, site: route.site, channel: route.channel, preset: route.preset, target: route.target } });
      });
    },
  };
}
