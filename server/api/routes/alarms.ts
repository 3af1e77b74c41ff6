/**
 * Alarms over REST: list with filters and keyset paging, one alarm with its history, and the
 * people's transitions (ack, clear, comment). Alarms of sites outside the caller's scope answer
 * 404 like unknown ones, so a restricted account cannot probe other stores' alarm ids.
 */
import type { Request, Response } from 'express';
import { z } from 'zod';
import { assertSiteVisible, canSeeSite } from '../../auth/roles.ts';
import { StoreTwinError } from '../../errors.ts';
import { SEVERITIES, type Alarm, type AlarmActions } from '../../alarms/types.ts';
import { audit } from '../audit.ts';
import { allow, userOf } from '../auth.ts';
import type { ApiRouteModule } from '../types.ts';
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

/** List items leave the history out: it only grows, and `GET /api/alarms/{id}` has it. */
function summary(alarm: Alarm): Omit<Alarm, 'history'> {
  const { history: _history, ...rest } = alarm;
  return rest;
}

/** The comment as the alarm's history keeps it (trimmed), for the audit entry's detail. */
const commented = (text: string | undefined) => (text === undefined ? {} : { detail: { comment: text } });

export function alarmRoutes(alarms: AlarmActions): ApiRouteModule {
  /** The alarm named in the path, if the caller may see its site; else 404. */
  function visibleAlarm(req: Request): Alarm {
    const { id } = parseInput(alarmParams, req.params, 'params');
    const alarm = alarms.get(id);
    if (!alarm || !canSeeSite(userOf(req), alarm.site)) throw new StoreTwinError('STW_ERR_ALARM_NOT_FOUND', `no alarm "${id}"`);
    return alarm;
  }

  return {
    name: 'alarms',
    register(app, deps) {
      app.get('/api/alarms', allow('alarms:read'), (req: Request, res: Response) => {
        const q = parseInput(listQuery, req.query, 'query');
        const user = userOf(req);
        if (q.site !== undefined) assertSiteVisible(user, q.site);
        // A user limited to several sites sees all of them at once: the store filters on the
        // scope itself, so nothing outside it can leak.
        const sites = user.sites.length > 0 ? user.sites : undefined;
        const page = alarms.list({ ...q, sites });
        res.json({ items: page.items.map(summary), nextCursor: page.nextCursor });
      });

      app.get('/api/alarms/:id', allow('alarms:read'), (req: Request, res: Response) => {
        res.json({ alarm: visibleAlarm(req) });
      });

      app.post('/api/alarms/:id/ack', allow('alarms:ack'), (req: Request, res: Response) => {
        const alarm = visibleAlarm(req);
        const body = parseInput(transitionBody, req.body, 'body');
        const by = userOf(req).username;
        const next = alarms.acknowledge(alarm.id, by, body?.comment);
        deps.logger.info({ alarm: alarm.id, site: alarm.site, by }, 'alarm acknowledged');
        audit(deps, req, { action: 'alarm.acknowledged', site: alarm.site, target: { kind: 'alarm', id: alarm.id }, before: { state: alarm.state }, after: { state: next.state }, ...commented(body?.comment) });
        res.json({ alarm: next });
      });

      app.post('/api/alarms/:id/clear', allow('alarms:ack'), (req: Request, res: Response) => {
        const alarm = visibleAlarm(req);
        const body = parseInput(transitionBody, req.body, 'body');
        const by = userOf(req).username;
        const next = alarms.clear(alarm.id, by, body?.comment);
        deps.logger.info({ alarm: alarm.id, site: alarm.site, by }, 'alarm cleared');
        audit(deps, req, { action: 'alarm.cleared', site: alarm.site, target: { kind: 'alarm', id: alarm.id }, before: { state: alarm.state }, after: { state: next.state }, ...commented(body?.comment) });
        res.json({ alarm: next });
      });

      app.post('/api/alarms/:id/comment', allow('alarms:ack'), (req: Request, res: Response) => {
        const alarm = visibleAlarm(req);
        const body = parseInput(commentBody, req.body, 'body');
        const next = alarms.comment(alarm.id, userOf(req).username, body.text);
        audit(deps, req, { action: 'alarm.commented', site: alarm.site, target: { kind: 'alarm', id: alarm.id }, ...commented(body.text) });
        res.json({ alarm: next });
      });
    },
  };
}
