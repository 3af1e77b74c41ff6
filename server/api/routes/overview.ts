/**
 * `GET /api/overview` (alarms:read: admin, manager, operator): the chain overview, every site
 * the caller may see in one answer (server/overview/). A user limited to some sites gets those
 * rows and no others; the response KPI column only for roles with `kpis:read` (it rates how
 * fast people answered). A technician, who sees device-health alarms only, is refused (403):
 * open-alarm counts would show the security alarms it may not read.
 */
import type { Request, Response } from 'express';
import { z } from 'zod';
import { localizedSchema } from '../../sites/model.ts';
import type { ChainOverview } from '../../overview/index.ts';
import { allow, userOf } from '../auth.ts';
import type { ApiRouteModule, RouteDoc } from '../types.ts';

const count = z.number().int();
const hourly = z.array(count).length(24);
const siteOverview = z.object({
  site: z.string(),
  name: localizedSchema,
  kind: z.string(),
  timezone: z.string(),
  footfall: z
    .object({
      date: z.string().describe('local date of today'),
      compareDate: z.string().describe('the same weekday a week ago'),
      today: count.describe('people in so far today'),
      lastWeekSameTime: count.describe('people in that day up to the same local time'),
      lastWeek: count.describe('people in that whole day'),
      hourly: hourly.describe('people in per local hour today'),
      lastWeekHourly: hourly,
    })
    .nullable()
    .describe('null without a footfall counter'),
  occupancy: z.object({ now: count, capacity: count.nullable() }).nullable().describe('persons inside the counted halls; null when none is counted'),
  alarms: z.object({
    open: count.describe('not closed out (state=open)'),
    unacknowledged: count,
    bySeverity: z.object({ critical: count, major: count, minor: count, warning: count, info: count }),
    oldestUnacknowledgedAt: z.string().nullable(),
  }),
  devices: z.object({ total: count, offline: count, lowBattery: count, silent: count }),
  response: z
    .object({ alarms: count.describe('raised in the last 7 days'), ackWithinTargetShare: z.number().nullable().describe('0..1') })
    .nullable()
    .describe('null without kpis:read'),
});
const overviewAnswer = z.object({ at: z.string(), response: z.boolean().describe('whether `response` was computed'), sites: z.array(siteOverview) });

const docs: RouteDoc[] = [
  {
    method: 'get',
    path: '/api/overview',
    summary: 'Every site in one answer: footfall, occupancy, open alarms, device health',
    description:
      'One row per site the caller may see (a user limited to some sites: those). Footfall today against the same weekday last week up to the same local time; low battery and silent as the built-in rules define them; `response` (share acknowledged within target over 7 days) only for roles with `kpis:read`.',
    permission: 'alarms:read',
    responses: { 200: { description: 'The sites', schema: overviewAnswer } },
  },
];

export function overviewRoutes(opts: { overview: ChainOverview }): ApiRouteModule {
  return {
    name: 'overview',
    docs,
    register(app) {
      app.get('/api/overview', allow('alarms:read'), async (req: Request, res: Response) => {
        res.json(await opts.overview.overview(userOf(req)));
      });
    },
  };
}
