/**
 * Response KPIs over REST (issue 7): `GET /api/kpis/response` as JSON and
 * `GET /api/kpis/response.csv` as a spreadsheet download, both `kpis:read` (admin, manager).
 * Scoped like /api/alarms: a user limited to some sites counts only those, and a `site` outside
 * them answers 404 like one that does not exist.
 */
import type { Request, Response } from 'express';
import { z } from 'zod';
import { assertSiteVisible } from '../../auth/roles.ts';
import { StoreTwinError } from '../../errors.ts';
import { kpiCsv } from '../../kpis/csv.ts';
import { KPI_GROUPINGS } from '../../kpis/response.ts';
import { MAX_KPI_RANGE_DAYS, type KpiReport, type ResponseKpis } from '../../kpis/service.ts';
import type { KpiGrouping } from '../../kpis/response.ts';
import { allow, userOf } from '../auth.ts';
import { localizedSchema } from '../../sites/model.ts';
import type { ApiDeps, ApiRouteModule, RouteDoc } from '../types.ts';
import { isoDateTimeSchema, parseInput, queryString } from '../validate.ts';

const DAY_MS = 86_400_000;
/** Without `from`: the week before `to`. */
const DEFAULT_RANGE_MS = 7 * DAY_MS;

const kpiQuery = z.strictObject({
  site: queryString.optional(),
  from: isoDateTimeSchema.optional(),
  to: isoDateTimeSchema.optional(),
  by: z.enum(KPI_GROUPINGS).default('site'),
});
/** The CSV also takes the language of its header row and names. */
const csvQuery = kpiQuery.extend({ lang: z.enum(['en', 'zh-CN']).default('en') });

const percentiles = z.object({ median: z.number().nullable(), p90: z.number().nullable() }).describe('seconds, nearest rank');
const figures = {
  alarms: z.number().int(),
  occurrences: z.number().int(),
  acknowledged: z.number().int(),
  unacknowledged: z.number().int(),
  ackWithinTarget: z.number().int(),
  pending: z.number().int().describe('unacknowledged, raised less than their target ago'),
  ackWithinTargetShare: z.number().nullable().describe('0..1'),
  timeToAck: percentiles,
  cleared: z.number().int(),
  uncleared: z.number().int(),
  timeToClear: percentiles,
};
const kpiAnswer = z.object({
  site: z.string().nullable(),
  from: z.string(),
  to: z.string(),
  asOf: z.string(),
  by: z.enum(KPI_GROUPINGS),
  targets: z.record(z.string(), z.number()).describe('seconds to acknowledge, by severity'),
  groups: z.array(z.object({ key: z.string().nullable(), label: localizedSchema.optional(), ...figures })),
  total: z.object(figures),
});

const docs: RouteDoc[] = [
  {
    method: 'get',
    path: '/api/kpis/response',
    summary: 'Response KPIs: time to acknowledge and to clear, share acknowledged within target',
    description: `Default range: the week before \`to\` (default now); at most ${MAX_KPI_RANGE_DAYS} days. Without \`site\`, every site the caller may see.`,
    permission: 'kpis:read',
    query: kpiQuery,
    responses: { 200: { description: 'The figures per group and in total', schema: kpiAnswer } },
    errors: ['STW_ERR_SITE_NOT_FOUND'],
  },
  {
    method: 'get',
    path: '/api/kpis/response.csv',
    summary: 'The same as a spreadsheet (CSV), headers in English or Chinese',
    permission: 'kpis:read',
    query: csvQuery,
    responses: { 200: { description: 'A CSV download (`Content-Disposition: attachment`)', type: 'text/csv' } },
    errors: ['STW_ERR_SITE_NOT_FOUND'],
  },
];

export interface KpiRouteOptions {
  kpis: ResponseKpis;
  now?: () => number;
}

interface Answer extends Omit<KpiReport, 'asOf'> {
  site: string | null;
  from: string;
  to: string;
  asOf: string;
  by: KpiGrouping;
}

export function kpiRoutes(opts: KpiRouteOptions): ApiRouteModule {
  const now = opts.now ?? (() => Date.now());

  async function report(req: Request, deps: ApiDeps, q: z.infer<typeof kpiQuery>): Promise<Answer> {
    const user = userOf(req);
    let sites: string[];
    if (q.site !== undefined) {
      assertSiteVisible(user, q.site);
      if (!deps.sites.get(q.site)) throw new StoreTwinError('STW_ERR_SITE_NOT_FOUND', `no site "${q.site}"`);
      sites = [q.site];
    } else {
      // Every site the caller may see: its own list, or (unlimited) the whole catalogue.
      sites = user.sites.length > 0 ? [...user.sites] : deps.sites.list().map((s) => s.id);
    }
    const toMs = q.to !== undefined ? Date.parse(q.to) : now();
    const fromMs = q.from !== undefined ? Date.parse(q.from) : toMs - DEFAULT_RANGE_MS;
    if (fromMs >= toMs) throw new StoreTwinError('STW_ERR_VALIDATION', 'from must be before to', [{ path: ['from'], message: 'not before to' }]);
    if (toMs - fromMs > MAX_KPI_RANGE_DAYS * DAY_MS) {
      throw new StoreTwinError('STW_ERR_VALIDATION', `at most ${MAX_KPI_RANGE_DAYS} days from from to to`, [{ path: ['from'], message: 'range too long' }]);
    }
    const r = await opts.kpis.report({ sites, fromMs, toMs, by: q.by, ...(q.by === 'site' ? { labels: (id: string) => deps.sites.get(id)?.name } : {}) });
    return {
      site: q.site ?? null,
      from: new Date(fromMs).toISOString(),
      to: new Date(toMs).toISOString(),
      asOf: new Date(r.asOf).toISOString(),
      by: q.by,
      targets: r.targets,
      groups: r.groups,
      total: r.total,
    };
  }

  return {
    name: 'kpis',
    docs,
    register(app, deps) {
      app.get('/api/kpis/response', allow('kpis:read'), async (req: Request, res: Response) => {
        res.json(await report(req, deps, parseInput(kpiQuery, req.query, 'query')));
      });

      app.get('/api/kpis/response.csv', allow('kpis:read'), async (req: Request, res: Response) => {
        const { lang, ...q } = parseInput(csvQuery, req.query, 'query');
        const answer = await report(req, deps, q);
        // Site ids are [a-z0-9-] and the dates ISO: the name needs no quoting beyond the quotes.
        const name = `storetwin-response-kpis-${answer.site ?? 'all-sites'}-by-${answer.by}-${answer.from.slice(0, 10)}-${answer.to.slice(0, 10)}.csv`;
        res.setHeader('Content-Disposition', `attachment; filename="${name}"`);
        res.type('text/csv; charset=utf-8');
        res.send(kpiCsv(answer, lang));
      });
    },
  };
}
