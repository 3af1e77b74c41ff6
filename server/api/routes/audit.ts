/**
 * `GET /api/audit?site=&user=&action=&from=&to=&limit=&cursor=` (audit:read, admins): the audit
 * log, newest first, keyset-paged. An admin limited to some sites sees the entries of its sites,
 * its own, and those about the accounts it manages (server/audit/types.ts AuditViewer); a site
 * outside its list answers 404 like one that does not exist.
 */
import type { Request, Response } from 'express';
import { z } from 'zod';
import { AUDIT_ACTIONS, AUDIT_GROUPS, type AuditStore } from '../../audit/types.ts';
import { assertSiteVisible } from '../../auth/roles.ts';
import { allow, userOf } from '../auth.ts';
import { auditEntrySchema, pageOf } from '../openapi/schemas.ts';
import type { ApiRouteModule, RouteDoc } from '../types.ts';
import { isoDateTimeSchema, limitSchema, parseInput, queryString } from '../validate.ts';

const actionSchema = z.string().refine((a) => (AUDIT_ACTIONS as readonly string[]).includes(a) || AUDIT_GROUPS.includes(a), {
  message: `one of ${AUDIT_ACTIONS.join(', ')}, or a group: ${AUDIT_GROUPS.join(', ')}`,
});

const auditQuery = z
  .strictObject({
    site: queryString.optional(),
    user: queryString.optional(),
    action: actionSchema.optional(),
    from: isoDateTimeSchema.optional(),
    to: isoDateTimeSchema.optional(),
    limit: limitSchema,
    cursor: queryString.optional(),
  })
  .refine((q) => q.from === undefined || q.to === undefined || Date.parse(q.from) <= Date.parse(q.to), { message: 'from must not be after to', path: ['from'] });

const docs: RouteDoc[] = [
  {
    method: 'get',
    path: '/api/audit',
    summary: 'The audit log: who did what, when, from where',
    description: 'Newest first. `action` is an action (`alarm.acknowledged`) or a group (`alarm`). An admin limited to some sites sees the entries of its sites, its own, and those about the accounts it manages.',
    permission: 'audit:read',
    query: auditQuery,
    responses: { 200: { description: 'A page of entries', schema: pageOf(auditEntrySchema) } },
    errors: ['STW_ERR_SITE_NOT_FOUND'],
  },
];

export function auditRoutes(deps: { audit: AuditStore }): ApiRouteModule {
  return {
    name: 'audit',
    docs,
    register(app) {
      app.get('/api/audit', allow('audit:read'), async (req: Request, res: Response) => {
        const q = parseInput(auditQuery, req.query, 'query');
        const user = userOf(req);
        if (q.site !== undefined) assertSiteVisible(user, q.site);
        const viewer = user.sites.length > 0 ? { userId: user.id, sites: user.sites } : undefined;
        res.json(await deps.audit.query({ ...q, viewer }));
      });
    },
  };
}
