/**
 * The notification outbox over HTTP: what was sent, what is still retrying, what is dead.
 * Reading needs alarms:read (the payloads are alarm texts); sending a dead delivery again
 * needs integrations:manage. Deliveries of sites outside the caller's scope are 404.
 */
import type { Request, Response } from 'express';
import { z } from 'zod';
import { canSeeSite, scopeSite } from '../../auth/roles.ts';
import { StoreTwinError } from '../../errors.ts';
import { DELIVERY_STATES, type DeliveryRecord, type Outbox } from '../../notify/outbox-store.ts';
import { allow, userOf } from '../auth.ts';
import { deliverySchema } from '../openapi/schemas.ts';
import type { ApiRouteModule, RouteDoc } from '../types.ts';
import { limitSchema, parseInput, queryString } from '../validate.ts';

const listQuery = z
  .object({
    state: z.enum(DELIVERY_STATES).optional(),
    site: queryString.optional(),
    alarm: queryString.optional(),
    limit: limitSchema,
    cursor: z.string().regex(/^\d{1,15}$/).optional(),
  })
  .strict();

const idParams = z.object({ id: z.string().regex(/^\d{1,15}$/, 'must be a delivery id') });

export function publicDelivery(d: DeliveryRecord) {
  return {
    ...d,
    nextAttemptAt: new Date(d.nextAttemptAt).toISOString(),
    createdAt: new Date(d.createdAt).toISOString(),
    deliveredAt: d.deliveredAt === null ? null : new Date(d.deliveredAt).toISOString(),
  };
}

const docs: RouteDoc[] = [
  {
    method: 'get',
    path: '/api/deliveries',
    summary: 'Notification deliveries: sent, retrying, dead',
    permission: 'alarms:read',
    query: listQuery,
    responses: { 200: { description: 'A page of deliveries', schema: z.object({ items: z.array(deliverySchema), nextCursor: z.string().nullable() }) } },
    errors: ['STW_ERR_SITE_NOT_FOUND'],
  },
  {
    method: 'post',
    path: '/api/deliveries/:id/retry',
    summary: 'Send a dead or pending delivery again now',
    permission: 'integrations:manage',
    params: idParams,
    responses: { 200: { description: 'The delivery, pending again', schema: z.object({ delivery: deliverySchema }) } },
    errors: ['STW_ERR_DELIVERY_NOT_FOUND', 'STW_ERR_DELIVERY_NOT_RETRYABLE'],
  },
];

export function deliveryRoutes(outbox: Outbox, opts: { nudge?: () => void } = {}): ApiRouteModule {
  return {
    name: 'deliveries',
    docs,
    register(app) {
      app.get('/api/deliveries', allow('alarms:read'), async (req: Request, res: Response) => {
        const q = parseInput(listQuery, req.query, 'query');
        const site = scopeSite(userOf(req), q.site);
        const page = await outbox.list({ state: q.state, site, alarm: q.alarm, limit: q.limit, cursor: q.cursor });
        res.json({ items: page.items.map(publicDelivery), nextCursor: page.nextCursor });
      });

      app.post('/api/deliveries/:id/retry', allow('integrations:manage'), async (req: Request, res: Response) => {
        const { id } = parseInput(idParams, req.params, 'params');
        const current = await outbox.get(Number(id));
        if (!current || !canSeeSite(userOf(req), current.site)) throw new StoreTwinError('STW_ERR_DELIVERY_NOT_FOUND', `no delivery ${id}`);
        const delivery = await outbox.retry(current.id);
        opts.nudge?.();
        res.json({ delivery: publicDelivery(delivery) });
      });
    },
  };
}
