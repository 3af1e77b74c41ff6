/**
 * Rules over HTTP: list, read, create, replace, delete (API rules only: file rules are edited
 * in their file and hot-reloaded, 409 STW_ERR_RULE_FROM_FILE), and backtest against stored
 * events. Rules of sites outside the caller's scope are 404; '*' rules are visible to all.
 */
import type { Request, Response } from 'express';
import { z } from 'zod';
import { assertSiteVisible, canSeeSite, scopeSite } from '../../auth/roles.ts';
import { changes } from '../../audit/index.ts';
import { StoreTwinError } from '../../errors.ts';
import { backtest, DEFAULT_BACKTEST_MAX_EVENTS, DEFAULT_BACKTEST_MAX_MS } from '../../rules/backtest.ts';
import { ruleSchema } from '../../rules/schema.ts';
import type { RuleStore, StoredRule } from '../../rules/store.ts';
import type { ReadWorker } from '../../reads/worker.ts';
import { audit } from '../audit.ts';
import { allow, userOf } from '../auth.ts';
import { LongReadGate } from '../long-reads.ts';
import { storedRuleSchema } from '../openapi/schemas.ts';
import type { ApiRouteModule, RouteDoc } from '../types.ts';
import { isoDateTimeSchema, parseInput, queryString } from '../validate.ts';

const listQuery = z.object({ site: queryString.optional() }).strict();
const idParams = z.object({ id: z.string().min(1).max(200) });
const backtestQuery = z.object({ from: isoDateTimeSchema, to: isoDateTimeSchema, site: queryString.optional() }).strict();
/** A backtest replays at most this span (a month of a busy hotel stays well under a minute). */
const MAX_BACKTEST_DAYS = 31;

/**
 * Bounds of one backtest and how many run at once: config `limits` (server/config.ts). A bound
 * reached ends the replay with a partial answer (`truncated`, `reason`, `scannedTo`) rather
 * than an error: what was replayed is a correct backtest of [from, scannedTo).
 */
export interface BacktestLimits {
  backtestMaxEvents: number;
  backtestMaxSeconds: number;
  backtestsPerServer: number;
  backtestsPerUser: number;
}
const DEFAULT_BACKTEST_LIMITS: BacktestLimits = {
  backtestMaxEvents: DEFAULT_BACKTEST_MAX_EVENTS,
  backtestMaxSeconds: DEFAULT_BACKTEST_MAX_MS / 1000,
  backtestsPerServer: 1,
  backtestsPerUser: 1,
};

/** The site an audit entry about the rule belongs to: null for a rule of every site ('*'). */
const siteOf = (r: StoredRule): string | null => (r.rule.site === '*' ? null : r.rule.site);

const view = (r: StoredRule) => ({ ...r.rule, origin: r.origin, updatedAt: new Date(r.updatedAt).toISOString() });

const ruleAnswer = z.object({ rule: storedRuleSchema });
/** PUT takes the id from the path: one in the body is overwritten. */
const ruleReplacement = ruleSchema.extend({ id: ruleSchema.shape.id.optional() });
const ruleExample = {
  id: 'cash-room-night',
  name: { en: 'Cash room opened at night', 'zh-CN': '夜间现金室开门' },
  site: 'demo-shop',
  zones: ['cash-room'],
  severity: 'critical',
  category: 'security',
  latch: true,
  message: { en: 'Cash room door opened ({site})', 'zh-CN': '{site} 现金室门被打开' },
  when: { kind: 'event', event: 'door', where: [{ field: 'state', op: 'eq', value: 'open' }], zoneArmed: true, per: 'zone' },
};
const backtestAnswer = z.object({
  rule: z.string(),
  from: z.string(),
  to: z.string(),
  firings: z.array(z.record(z.string(), z.unknown())).describe('every time the condition held'),
  alarms: z.array(z.record(z.string(), z.unknown())).describe('what the live service would have kept: one per incident'),
  resolutions: z.array(z.object({ at: z.string(), source: z.string() })),
  eventsScanned: z.number().int(),
  ms: z.number(),
  truncated: z.boolean(),
  reason: z.enum(['firings', 'events', 'time', 'aborted']).nullable(),
  scannedTo: z.string().describe('the replay covers [from, scannedTo)'),
});
const fromFile = 'Rules from rule files are edited in their file (hot-reloaded): 409 `STW_ERR_RULE_FROM_FILE` here.';

const docs: RouteDoc[] = [
  {
    method: 'get',
    path: '/api/rules',
    summary: 'Rules in force: from files and from the API',
    description: "Rules for every site (`site: '*'`) are listed to everyone; others only to those who see their site.",
    permission: 'rules:read',
    query: listQuery,
    responses: { 200: { description: 'The rules', schema: z.object({ items: z.array(storedRuleSchema) }) } },
    errors: ['STW_ERR_SITE_NOT_FOUND'],
  },
  {
    method: 'get',
    path: '/api/rules/:id',
    summary: 'One rule',
    permission: 'rules:read',
    params: idParams,
    responses: { 200: { description: 'The rule', schema: ruleAnswer } },
    errors: ['STW_ERR_RULE_NOT_FOUND'],
  },
  {
    method: 'post',
    path: '/api/rules',
    summary: 'Create a rule',
    description: "The body is a rule as in a rule file (README \"Writing rules\"). A rule for every site (`site: '*'`, the default) needs an account without a site list.",
    permission: 'rules:write',
    body: ruleSchema,
    bodyExample: ruleExample,
    responses: { 201: { description: 'Created; `Location` names it', schema: ruleAnswer } },
    errors: ['STW_ERR_RULE_INVALID', 'STW_ERR_RULE_EXISTS', 'STW_ERR_SITE_NOT_FOUND'],
  },
  {
    method: 'put',
    path: '/api/rules/:id',
    summary: 'Replace a rule created over the API',
    description: fromFile,
    permission: 'rules:write',
    params: idParams,
    body: ruleReplacement,
    bodyExample: { ...ruleExample, id: undefined, severity: 'major' },
    responses: { 200: { description: 'The rule as replaced', schema: ruleAnswer } },
    errors: ['STW_ERR_RULE_NOT_FOUND', 'STW_ERR_RULE_FROM_FILE', 'STW_ERR_RULE_INVALID', 'STW_ERR_SITE_NOT_FOUND'],
  },
  {
    method: 'delete',
    path: '/api/rules/:id',
    summary: 'Delete a rule created over the API',
    description: fromFile,
    permission: 'rules:write',
    params: idParams,
    responses: { 204: { description: 'Deleted' } },
    errors: ['STW_ERR_RULE_NOT_FOUND', 'STW_ERR_RULE_FROM_FILE'],
  },
  {
    method: 'post',
    path: '/api/rules/:id/backtest',
    summary: 'Replay stored events through a rule',
    description: `At most ${MAX_BACKTEST_DAYS} days; one backtest at a time per server and per user (429 \`STW_ERR_BUSY\` with \`Retry-After\`). A bound reached (\`limits.backtestMaxEvents\`, \`limits.backtestMaxSeconds\`) answers a partial replay: \`truncated\`, \`reason\`, \`scannedTo\`.`,
    permission: { allOf: ['rules:read', 'events:read'] },
    params: idParams,
    query: backtestQuery,
    responses: { 200: { description: 'What the rule would have done', schema: backtestAnswer } },
    errors: ['STW_ERR_RULE_NOT_FOUND', 'STW_ERR_SITE_NOT_FOUND', 'STW_ERR_BUSY'],
  },
];

export function ruleRoutes(deps: { rules: RuleStore; limits?: BacktestLimits; reads?: ReadWorker }): ApiRouteModule {
  const visible = (req: Request): StoredRule => {
    const { id } = parseInput(idParams, req.params, 'params');
    const found = deps.rules.get(id);
    if (!found || (found.rule.site !== '*' && !canSeeSite(userOf(req), found.rule.site))) {
      throw new StoreTwinError('STW_ERR_RULE_NOT_FOUND', `no rule "${id}"`);
    }
    return found;
  };
  /** A rule the caller may change: a '*' rule reaches every site, so only an unrestricted account may. */
  const writable = (req: Request): StoredRule => {
    const found = visible(req);
    if (found.rule.site === '*' && userOf(req).sites.length > 0) {
      throw new StoreTwinError('STW_ERR_FORBIDDEN', "rules for every site ('*') can only be changed by an account without a site list");
    }
    return found;
  };
  const checkSite = (req: Request, body: unknown) => {
    const site = typeof body === 'object' && body !== null && 'site' in body ? (body as { site: unknown }).site : '*';
    // Only unrestricted users may write rules for every site.
    if (site === '*' || site === undefined) {
      if (userOf(req).sites.length > 0) throw new StoreTwinError('STW_ERR_FORBIDDEN', "rules for every site ('*') need an unrestricted account");
    } else if (typeof site === 'string') assertSiteVisible(userOf(req), site);
  };

  return {
    name: 'rules',
    docs,
    register(app, api) {
      app.get('/api/rules', allow('rules:read'), (req: Request, res: Response) => {
        const q = parseInput(listQuery, req.query, 'query');
        const site = scopeSite(userOf(req), q.site);
        const items = deps.rules.list(site).filter((r) => r.rule.site === '*' || canSeeSite(userOf(req), r.rule.site));
        res.json({ items: items.map(view) });
      });

      app.get('/api/rules/:id', allow('rules:read'), (req: Request, res: Response) => {
        res.json({ rule: view(visible(req)) });
      });

      app.post('/api/rules', allow('rules:write'), async (req: Request, res: Response) => {
        checkSite(req, req.body);
        const created = await deps.rules.create(req.body);
        api.logger.info({ rule: created.rule.id, by: userOf(req).username }, 'rule created');
        await audit(api, req, { action: 'rule.created', site: siteOf(created), target: { kind: 'rule', id: created.rule.id }, after: { ...created.rule } });
        res.status(201).location(`/api/rules/${encodeURIComponent(created.rule.id)}`).json({ rule: view(created) });
      });

      app.put('/api/rules/:id', allow('rules:write'), async (req: Request, res: Response) => {
        const existing = writable(req);
        checkSite(req, req.body);
        const updated = await deps.rules.update(existing.rule.id, req.body);
        api.logger.info({ rule: updated.rule.id, by: userOf(req).username }, 'rule updated');
        // A rule moved from one site to another concerns both: site-less, scoped to the two.
        const [was, is] = [siteOf(existing), siteOf(updated)];
        const where = was === is ? { site: is } : { site: null, scope: was === null || is === null ? [] : [was, is] };
        await audit(api, req, { action: 'rule.updated', ...where, target: { kind: 'rule', id: updated.rule.id }, ...changes({ ...existing.rule }, { ...updated.rule }) });
        res.json({ rule: view(updated) });
      });

      app.delete('/api/rules/:id', allow('rules:write'), async (req: Request, res: Response) => {
        const existing = writable(req);
        await deps.rules.remove(existing.rule.id);
        api.logger.info({ rule: existing.rule.id, by: userOf(req).username }, 'rule removed');
        await audit(api, req, { action: 'rule.deleted', site: siteOf(existing), target: { kind: 'rule', id: existing.rule.id }, before: { ...existing.rule } });
        res.status(204).end();
      });

      const limits = deps.limits ?? DEFAULT_BACKTEST_LIMITS;
      // One gate per server (per app): one backtest at a time for it and for each user.
      const gate = new LongReadGate({ perServer: limits.backtestsPerServer, perUser: limits.backtestsPerUser, maxMs: limits.backtestMaxSeconds * 1000 });
      app.post('/api/rules/:id/backtest', allow('rules:read'), allow('events:read'), async (req: Request, res: Response) => {
        const found = visible(req);
        const q = parseInput(backtestQuery, req.query, 'query');
        const from = Date.parse(q.from);
        const to = Date.parse(q.to);
        if (!(to > from) || to - from > MAX_BACKTEST_DAYS * 86400_000) {
          throw new StoreTwinError('STW_ERR_VALIDATION', `to must be after from, at most ${MAX_BACKTEST_DAYS} days later`, [{ path: ['to'], message: 'range' }]);
        }
        let rule = found.rule;
        if (rule.site === '*') {
          // A restricted user replays only the sites they may see: narrow '*' to one.
          const site = scopeSite(userOf(req), q.site);
          if (site !== undefined) rule = { ...rule, site };
        } else if (q.site !== undefined && q.site !== rule.site) {
          throw new StoreTwinError('STW_ERR_VALIDATION', `rule "${rule.id}" is for site "${rule.site}"`, [{ path: ['site'], message: 'mismatch' }]);
        }
        const admission = gate.tryEnter(String(userOf(req).id));
        if (!admission.ok) {
          res.setHeader('Retry-After', String(admission.retryAfterS));
          const who = admission.limit === 'user' ? 'your previous backtest is' : 'another backtest is';
          throw new StoreTwinError('STW_ERR_BUSY', `${who} still running: retry in ${admission.retryAfterS} s`, { retryAfterS: admission.retryAfterS });
        }
        // A caller that hangs up stops the replay and frees the slot for the next one.
        const gone = new AbortController();
        res.on('close', () => {
          if (!res.writableFinished) gone.abort();
        });
        try {
          const job = { from: new Date(from).toISOString(), to: new Date(to).toISOString(), maxEvents: limits.backtestMaxEvents, maxMs: limits.backtestMaxSeconds * 1000 };
          const call = { onProgress: (fraction: number) => admission.ticket.progress(fraction), signal: gone.signal };
          // In the long-read thread when the server has one (server/reads/worker.ts), else here in slices.
          const result = deps.reads
            ? await deps.reads.backtest({ ...job, rule, sites: api.sites.list() }, call)
            : await backtest(rule, { ...job, ...call, events: api.events, sites: api.sites, logger: api.logger });
          if (result.reason === 'aborted') return;
          res.json({ rule: rule.id, from: q.from, to: q.to, ...result });
        } finally {
          admission.ticket.release();
        }
      });
    },
  };
}
