/** Stored device events, filtered and paged by the event store's cursor. */
import type { Request, Response } from 'express';
import { z } from 'zod';
import { scopeSite } from '../../auth/roles.ts';
import { allow, userOf } from '../auth.ts';
import { eventSchema, pageOf } from '../openapi/schemas.ts';
import type { ApiRouteModule, RouteDoc } from '../types.ts';
import { isoDateTimeSchema, limitSchema, parseInput, queryString } from '../validate.ts';

const eventsQuery = z
  .object({
    site: queryString.optional(),
    device: queryString.optional(),
    zone: queryString.optional(),
    type: queryString.optional(),
    from: isoDateTimeSchema.optional(),
    to: isoDateTimeSchema.optional(),
    limit: limitSchema,
    cursor: queryString.optional(),
    order: z.enum(['asc', 'desc']).default('desc'),
  })
  .strict()
  .refine((q) => q.from === undefined || q.to === undefined || Date.parse(q.from) <= Date.parse(q.to), {
    message: 'from must not be after to',
    path: ['from'],
  });

const docs: RouteDoc[] = [
  {
    method: 'get',
    path: '/api/events',
    summary: 'Stored device events, filtered and paged',
    description: '`from` inclusive, `to` exclusive; newest first unless `order=asc`. Keyset pages stay stable while events arrive. A user limited to several sites passes `site`.',
    permission: 'events:read',
    query: eventsQuery,
    responses: { 200: { description: 'A page of events', schema: pageOf(eventSchema) } },
    errors: ['STW_ERR_SITE_NOT_FOUND'],
  },
];

export const eventRoutes: ApiRouteModule = {
  name: 'events',
  docs,
  register(app, deps) {
    app.get('/api/events', allow('events:read'), async (req: Request, res: Response) => {
      const q = parseInput(eventsQuery, req.query, 'query');
      // A restricted user's query is always narrowed to a site they may see, so filtering by
      // device or zone cannot reach another site's events.
      const site = scopeSite(userOf(req), q.site);
      const page = await deps.events.query({ ...q, site });
      res.json({ items: page.items, nextCursor: page.nextCursor });
    });
  },
};
