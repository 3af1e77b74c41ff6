/**
 * Footfall: in/out per time step for a site or one hall, and the per-entrance / per-hall
 * summary of today against the same weekday last week (server/history/footfall.ts).
 */
import type { Request, Response } from 'express';
import { z } from 'zod';
import { scopeSite } from '../../auth/roles.ts';
import { StoreTwinError } from '../../errors.ts';
import { countersOf, footfallSeries, footfallSummary } from '../../history/footfall.ts';
import { allow, userOf } from '../auth.ts';
import type { ApiRouteModule, RouteDoc } from '../types.ts';
import { isoDateTimeSchema, parseInput, queryString } from '../validate.ts';
import { siteParams, visibleSiteOf } from './history.ts';

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
/** A minute: counters report per minute at best, a finer step only adds empty buckets. */
const MIN_STEP_MS = 60_000;
/** Bounds the answer (and the work) whatever range and step are asked for. */
export const MAX_FOOTFALL_BUCKETS = 2000;
const DEFAULT_RANGE_MS = 86_400_000;

/** `90` (seconds), `15m`, `1h`, `1d`. */
const stepSchema = z
  .string()
  .regex(/^\d{1,7}[smhd]?$/, 'a duration like 60, 15m, 1h or 1d')
  .transform((v) => {
    const unit = /[smhd]$/.test(v) ? (v.slice(-1) as keyof typeof UNIT_MS) : 's';
    return Number.parseInt(v, 10) * UNIT_MS[unit];
  })
  .refine((ms) => ms >= MIN_STEP_MS, 'at least one minute');

const footfallQuery = z.strictObject({
  site: queryString.optional(),
  zone: queryString.optional(),
  from: isoDateTimeSchema.optional(),
  to: isoDateTimeSchema.optional(),
  step: stepSchema.default(3_600_000),
});

const inOut = { in: z.number().int(), out: z.number().int() };
const counter = z.object({ device: z.string(), zone: z.string().describe('where it hangs'), counts: z.string().describe('the hall its counts feed') });
const footfallAnswer = z.object({
  site: z.string(),
  zone: z.string().nullable(),
  from: z.string(),
  to: z.string(),
  step: z.number().describe('seconds'),
  counters: z.array(counter),
  buckets: z.array(z.object({ from: z.string(), ...inOut })),
  total: z.object(inOut),
});
const footfallDay = {
  today: z.object({ in: z.array(z.number().int()), out: z.array(z.number().int()) }).describe('per local hour'),
  lastWeek: z.object({ in: z.array(z.number().int()), out: z.array(z.number().int()) }).describe('the same weekday a week ago, per local hour'),
  totals: z.object({ today: z.object(inOut), lastWeekSameTime: z.object(inOut), lastWeek: z.object(inOut) }),
};
const summaryAnswer = z.object({
  site: z.string(),
  timezone: z.string(),
  date: z.string().describe('local date of today'),
  compareDate: z.string(),
  at: z.string(),
  counters: z.array(counter.extend(footfallDay)),
  halls: z.array(z.object({ zone: z.string(), capacity: z.number().nullable(), occupancy: z.number().nullable(), counters: z.array(z.string()), ...footfallDay })),
});

const docs: RouteDoc[] = [
  {
    method: 'get',
    path: '/api/footfall',
    summary: 'In/out per time step for a site or one hall',
    description: `By default the last 24 h. \`step\` is seconds or \`15m\`, \`1h\`, \`1d\` (at least a minute); at most ${MAX_FOOTFALL_BUCKETS} steps. \`zone\` narrows to the counters of one hall or entrance. \`site\` is required unless the user is limited to one site.`,
    permission: 'footfall:read',
    query: footfallQuery,
    responses: { 200: { description: 'The series', schema: footfallAnswer } },
    errors: ['STW_ERR_SITE_NOT_FOUND', 'STW_ERR_ZONE_NOT_FOUND'],
  },
  {
    method: 'get',
    path: '/api/sites/:site/footfall/summary',
    summary: 'Today per entrance and hall against the same weekday last week',
    description: 'Days and hours are the site’s local ones (its time zone).',
    permission: 'footfall:read',
    params: siteParams,
    responses: { 200: { description: 'The summary', schema: summaryAnswer } },
    errors: ['STW_ERR_SITE_NOT_FOUND'],
  },
];

export interface FootfallRouteOptions {
  now?: () => number;
}

export function footfallRoutes(opts: FootfallRouteOptions = {}): ApiRouteModule {
  const now = opts.now ?? (() => Date.now());
  return {
    name: 'footfall',
    docs,
    register(app, deps) {
      app.get('/api/footfall', allow('footfall:read'), async (req: Request, res: Response) => {
        const q = parseInput(footfallQuery, req.query, 'query');
        const siteId = scopeSite(userOf(req), q.site);
        if (siteId === undefined) throw new StoreTwinError('STW_ERR_VALIDATION', 'site is required', [{ path: ['site'], message: 'required' }]);
        const site = deps.sites.get(siteId);
        if (!site) throw new StoreTwinError('STW_ERR_SITE_NOT_FOUND', `no site "${siteId}"`);
        const step = q.step;
        // By default the last 24 h, ending at the end of the current step.
        const toMs = q.to !== undefined ? Date.parse(q.to) : Math.ceil(now() / step) * step;
        const fromMs = q.from !== undefined ? Date.parse(q.from) : toMs - DEFAULT_RANGE_MS;
        if (fromMs > toMs) throw new StoreTwinError('STW_ERR_VALIDATION', 'from must not be after to', [{ path: ['from'], message: 'after to' }]);
        if ((toMs - fromMs) / step > MAX_FOOTFALL_BUCKETS) {
          throw new StoreTwinError('STW_ERR_VALIDATION', `at most ${MAX_FOOTFALL_BUCKETS} steps: widen step or narrow the range`, [{ path: ['step'], message: 'too many steps' }]);
        }
        let counters = countersOf(site, deps.registry);
        if (q.zone !== undefined) {
          if (!site.floors.some((f) => f.zones.some((z) => z.id === q.zone))) throw new StoreTwinError('STW_ERR_ZONE_NOT_FOUND', `no zone "${q.zone}" in site "${site.id}"`);
          counters = counters.filter((c) => c.counts === q.zone || c.zone === q.zone);
        }
        const series = await footfallSeries(deps.events, counters, fromMs, toMs, step);
        res.json({
          site: site.id,
          zone: q.zone ?? null,
          from: new Date(fromMs).toISOString(),
          to: new Date(toMs).toISOString(),
          step: step / 1000,
          counters,
          buckets: series.buckets,
          total: series.total,
        });
      });

      app.get('/api/sites/:site/footfall/summary', allow('footfall:read'), async (req: Request, res: Response) => {
        const site = visibleSiteOf(deps, req);
        const state = deps.twin.siteState(site.id);
        const summary = await footfallSummary(deps.events, site, countersOf(site, deps.registry), (zone) => state?.zones[zone]?.occupancy ?? null, now());
        res.json(summary);
      });
    },
  };
}
