/**
 * Alarms over REST: list with filters and keyset paging, one alarm with its history, and the
 * people's transitions (ack, clear, comment). Alarms of sites outside the caller's scope answer
 * 404 like unknown ones, so a restricted account cannot probe other stores' alarm ids. The same
 * holds for alarms of a category the caller may not see: a holder of `alarms:device-health`
 * without `alarms:read` (a technician) sees and handles device-health alarms only
 * (server/alarms/category.ts).
 */
import type { NextFunction, Request, Response } from 'express';
import { z } from 'zod';
import { mayActOnAlarm, mayReadAlarm, mayReadAnyAlarm, type HasAction } from '../../alarms/category.ts';
import { encodeAlarmCursor } from '../../alarms/store.ts';
import { assertSiteVisible, can, canSeeSite } from '../../auth/roles.ts';
import type { PublicUser } from '../../auth/users.ts';
import { StoreTwinError } from '../../errors.ts';
import { SEVERITIES, type Alarm, type AlarmActions } from '../../alarms/types.ts';
import { audit } from '../audit.ts';
import { userOf } from '../auth.ts';
import { alarmSchema, alarmSummarySchema, pageOf } from '../openapi/schemas.ts';
import type { ApiRouteModule, RouteDoc } from '../types.ts';
import { isoDateTimeSchema, limitSchema, parseInput, queryString } from '../validate.ts';

const listQuery = z
  .object({
    site: queryString.optional(),
    state: z.enum(['active', 'acknowledged', 'cleared', 'open']).optional(),
    severity: z.enum(SEVERITIES).optional(),
    rule: queryString.optional(),
    from: isoDateTimeSchema.optional(),
    to: isoDateTimeSchema.optional(),
    limit: limitSchema,
    cursor: queryString.optional(),
  })
  .strict()
  .refine((q) => q.from === undefined || q.to === undefined || Date.parse(q.from) <= Date.parse(q.to), {
    message: 'from must not be after to',
    path: ['from'],
  });

const alarmParams = z.object({ id: z.string().min(1).max(200) });

/** A comment is read by people on a phone: a few paragraphs at most. */
const commentText = z.string().trim().min(1).max(2000);
// Express leaves req.body undefined when a POST has no body; ack and clear need none.
const transitionBody = z.object({ comment: commentText.optional() }).strict().optional();
const commentBody = z.object({ text: commentText }).strict();

/**
 * Rows one list request reads at most while skipping alarms of other categories for a caller
 * who sees only some (a technician): a page may then hold fewer than `limit` items, with a
 * nextCursor to go on from.
 */
const MAX_FILTERED_SCAN = 5000;

const permissionsOf = (user: PublicUser): HasAction => (action) => can(user.role, action);

/** 403 unless the caller may read some alarms: `alarms:read`, or `alarms:device-health` for those. */
function readsAlarms(req: Request, _res: Response, next: NextFunction): void {
  if (!mayReadAnyAlarm(permissionsOf(userOf(req)))) throw new StoreTwinError('STW_ERR_FORBIDDEN', `role "${userOf(req).role}" may not alarms:read`);
  next();
}

/** 403 unless the caller may act on some alarms: `alarms:ack`, or `alarms:device-health` for those. */
function actsOnAlarms(req: Request, _res: Response, next: NextFunction): void {
  const has = permissionsOf(userOf(req));
  if (!has('alarms:ack') && !has('alarms:device-health')) throw new StoreTwinError('STW_ERR_FORBIDDEN', `role "${userOf(req).role}" may not alarms:ack`);
  next();
}

/** List items leave the history out: it only grows, and `GET /api/alarms/{id}` has it. */
function summary(alarm: Alarm): Omit<Alarm, 'history'> {
  const { history: _history, ...rest } = alarm;
  return rest;
}

/** The comment as the alarm's history keeps it (trimmed), for the audit entry's detail. */
const commented = (text: string | undefined) => (text === undefined ? {} : { detail: { comment: text } });

const alarmAnswer = z.object({ alarm: alarmSchema });
const readers = { anyOf: ['alarms:read', 'alarms:device-health'] } as const;
const handlers = { anyOf: ['alarms:ack', 'alarms:device-health'] } as const;
const deviceHealthOnly = 'A holder of `alarms:device-health` without `alarms:read` (a technician) sees and handles device-health alarms only; others answer 404 like alarms that do not exist.';

const docs: RouteDoc[] = [
  {
    method: 'get',
    path: '/api/alarms',
    summary: 'List alarms, newest activity first',
    description: `\`state=open\` lists every alarm not closed out (not both acknowledged and cleared), latched and restored-but-unacknowledged ones included. Items leave the history out. ${deviceHealthOnly}`,
    permission: readers,
    query: listQuery,
    responses: { 200: { description: 'A page of alarms', schema: pageOf(alarmSummarySchema) } },
    errors: ['STW_ERR_SITE_NOT_FOUND'],
  },
  {
    method: 'get',
    path: '/api/alarms/:id',
    summary: 'One alarm with its history',
    description: deviceHealthOnly,
    permission: readers,
    params: alarmParams,
    responses: { 200: { description: 'The alarm', schema: alarmAnswer } },
    errors: ['STW_ERR_ALARM_NOT_FOUND'],
  },
  {
    method: 'post',
    path: '/api/alarms/:id/ack',
    summary: 'Acknowledge an alarm, with an optional comment',
    description: 'An acknowledged alarm that is also cleared is closed out.',
    permission: handlers,
    params: alarmParams,
    body: transitionBody,
    bodyExample: { comment: 'Guard on the way' },
    responses: { 200: { description: 'The alarm as changed', schema: alarmAnswer } },
    errors: ['STW_ERR_ALARM_NOT_FOUND', 'STW_ERR_ALARM_TRANSITION'],
  },
  {
    method: 'post',
    path: '/api/alarms/:id/clear',
    summary: 'Clear an alarm, with an optional comment',
    permission: handlers,
    params: alarmParams,
    body: transitionBody,
    bodyExample: { comment: 'Door closed, nobody inside' },
    responses: { 200: { description: 'The alarm as changed', schema: alarmAnswer } },
    errors: ['STW_ERR_ALARM_NOT_FOUND', 'STW_ERR_ALARM_TRANSITION'],
  },
  {
    method: 'post',
    path: '/api/alarms/:id/comment',
    summary: 'Comment on an alarm',
    permission: handlers,
    params: alarmParams,
    body: commentBody,
    bodyExample: { text: 'Camera shows the cleaner' },
    responses: { 200: { description: 'The alarm with the comment in its history', schema: alarmAnswer } },
    errors: ['STW_ERR_ALARM_NOT_FOUND'],
  },
];

export function alarmRoutes(alarms: AlarmActions): ApiRouteModule {
  /** The alarm named in the path, if the caller may see its site and its category; else 404. */
  async function visibleAlarm(req: Request): Promise<Alarm> {
    const { id } = parseInput(alarmParams, req.params, 'params');
    const alarm = await alarms.get(id);
    const user = userOf(req);
    if (!alarm || !canSeeSite(user, alarm.site) || !mayReadAlarm(permissionsOf(user), alarm)) throw new StoreTwinError('STW_ERR_ALARM_NOT_FOUND', `no alarm "${id}"`);
    // ack, clear and comment (the POSTs) need the right to handle it, not only to see it.
    if (req.method === 'POST' && !mayActOnAlarm(permissionsOf(user), alarm)) throw new StoreTwinError('STW_ERR_FORBIDDEN', `role "${user.role}" may not alarms:ack`);
    return alarm;
  }

  /**
   * A page of the alarms a category-limited caller may see: store pages read and filtered until
   * `limit` are found, the store runs out, or MAX_FILTERED_SCAN rows were read. The cursor
   * points after the last alarm returned (or the last row read), in the store's own encoding.
   */
  async function filteredPage(q: Parameters<AlarmActions['list']>[0], has: HasAction): Promise<{ items: Alarm[]; nextCursor: string | null }> {
    const items: Alarm[] = [];
    let cursor = q.cursor;
    for (let scanned = 0; scanned < MAX_FILTERED_SCAN; ) {
      const page = await alarms.list({ ...q, cursor, limit: 500 });
      for (const [i, alarm] of page.items.entries()) {
        if (!mayReadAlarm(has, alarm)) continue;
        items.push(alarm);
        if (items.length === q.limit) {
          const more = i < page.items.length - 1 || page.nextCursor !== null;
          return { items, nextCursor: more ? encodeAlarmCursor(Date.parse(alarm.lastAt), alarm.id) : null };
        }
      }
      if (page.nextCursor === null) return { items, nextCursor: null };
      cursor = page.nextCursor;
      scanned += page.items.length;
    }
    return { items, nextCursor: cursor ?? null };
  }

  return {
    name: 'alarms',
    docs,
    register(app, deps) {
      app.get('/api/alarms', readsAlarms, async (req: Request, res: Response) => {
        const q = parseInput(listQuery, req.query, 'query');
        const user = userOf(req);
        if (q.site !== undefined) assertSiteVisible(user, q.site);
        // A user limited to several sites sees all of them at once: the store filters on the
        // scope itself, so nothing outside it can leak.
        const sites = user.sites.length > 0 ? user.sites : undefined;
        const has = permissionsOf(user);
        const page = has('alarms:read') ? await alarms.list({ ...q, sites }) : await filteredPage({ ...q, sites }, has);
        res.json({ items: page.items.map(summary), nextCursor: page.nextCursor });
      });

      app.get('/api/alarms/:id', readsAlarms, async (req: Request, res: Response) => {
        res.json({ alarm: await visibleAlarm(req) });
      });

      app.post('/api/alarms/:id/ack', actsOnAlarms, async (req: Request, res: Response) => {
        const alarm = await visibleAlarm(req);
        const body = parseInput(transitionBody, req.body, 'body');
        const by = userOf(req).username;
        const next = await alarms.acknowledge(alarm.id, by, body?.comment);
        deps.logger.info({ alarm: alarm.id, site: alarm.site, by }, 'alarm acknowledged');
        await audit(deps, req, { action: 'alarm.acknowledged', site: alarm.site, target: { kind: 'alarm', id: alarm.id }, before: { state: alarm.state }, after: { state: next.state }, ...commented(body?.comment) });
        res.json({ alarm: next });
      });

      app.post('/api/alarms/:id/clear', actsOnAlarms, async (req: Request, res: Response) => {
        const alarm = await visibleAlarm(req);
        const body = parseInput(transitionBody, req.body, 'body');
        const by = userOf(req).username;
        const next = await alarms.clear(alarm.id, by, body?.comment);
        deps.logger.info({ alarm: alarm.id, site: alarm.site, by }, 'alarm cleared');
        await audit(deps, req, { action: 'alarm.cleared', site: alarm.site, target: { kind: 'alarm', id: alarm.id }, before: { state: alarm.state }, after: { state: next.state }, ...commented(body?.comment) });
        res.json({ alarm: next });
      });

      app.post('/api/alarms/:id/comment', actsOnAlarms, async (req: Request, res: Response) => {
        const alarm = await visibleAlarm(req);
        const body = parseInput(commentBody, req.body, 'body');
        const next = await alarms.comment(alarm.id, userOf(req).username, body.text);
        await audit(deps, req, { action: 'alarm.commented', site: alarm.site, target: { kind: 'alarm', id: alarm.id }, ...commented(body.text) });
        res.json({ alarm: next });
      });
    },
  };
}
