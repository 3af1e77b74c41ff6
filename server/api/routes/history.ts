/**
 * Replay history: `GET /api/sites/{site}/history?from=&to=` answers the twin's state at `from`
 * and every change in (from, to] (server/history/history.ts). The answer for a day of a big
 * site is around a megabyte of repetitive JSON, so it is gzipped here when the client accepts
 * it (every browser does): an order of magnitude less to send, for a few ms of CPU off the
 * event loop (zlib runs on the libuv thread pool). The history is built off the event loop, in
 * the server's long-read thread (server/reads/worker.ts) or else in slices that leave the loop
 * to ingest and other requests (server/storage/yield.ts), and reads at most `maxEvents` events
 * (413 STW_ERR_QUERY_TOO_LARGE).
 */
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { assertSiteVisible, can, type Action } from '../../auth/roles.ts';
import { StoreTwinError } from '../../errors.ts';
import type { AlarmWindowReader } from '../../history/alarms.ts';
import { buildHistoryJson, DEFAULT_HISTORY_MAX_EVENTS, DEFAULT_WINDOW_MS, historyWindow, MAX_HISTORY_ALARMS } from '../../history/history.ts';
import type { ReadWorker } from '../../reads/worker.ts';
import type { Site } from '../../sites/model.ts';
import { allow, userOf } from '../auth.ts';
import type { ApiDeps, ApiRouteModule, RouteDoc } from '../types.ts';
import { isoDateTimeSchema, parseInput } from '../validate.ts';

const gzipAsync = promisify(gzip);

/** Below this a response is not worth compressing (one TCP segment either way). */
const GZIP_MIN_BYTES = 1400;

export const siteParams = z.object({ site: z.string().min(1).max(200) });
const historyQuery = z.strictObject({ from: isoDateTimeSchema.optional(), to: isoDateTimeSchema.optional() });

/** The site, or 404 when unknown or outside the caller's scope (the two are indistinguishable). */
export function visibleSiteOf(deps: ApiDeps, req: Request): Site {
  const { site: id } = parseInput(siteParams, req.params, 'params');
  assertSiteVisible(userOf(req), id);
  const site = deps.sites.get(id);
  if (!site) throw new StoreTwinError('STW_ERR_SITE_NOT_FOUND', `no site "${id}"`);
  return site;
}

/** Sends `body` as JSON, gzipped when the client accepts gzip and it is big enough to matter. */
export async function sendJsonMaybeGzip(req: Request, res: Response, body: unknown): Promise<void> {
  await sendJsonBytesMaybeGzip(req, res, Buffer.from(JSON.stringify(body), 'utf8'));
}

/** The same for JSON already serialised. */
export async function sendJsonBytesMaybeGzip(req: Request, res: Response, json: Buffer): Promise<void> {
  res.setHeader('Vary', 'Accept-Encoding');
  res.type('application/json');
  if (json.length >= GZIP_MIN_BYTES && req.acceptsEncodings('gzip', 'identity') === 'gzip') {
    const packed = await gzipAsync(json);
    res.setHeader('Content-Encoding', 'gzip');
    res.end(packed);
    return;
  }
  res.end(json);
}

const historyAnswer = z.object({
  site: z.string(),
  from: z.string(),
  to: z.string(),
  lookback: z.object({ state: z.string(), occupancy: z.string() }).describe('where the folds for the state at `from` began'),
  dataFrom: z.string().nullable().describe('the first event the history was folded from (lookback included); null when none: before it the replay has no data'),
  state: z.object({ devices: z.record(z.string(), z.record(z.string(), z.unknown())), zones: z.record(z.string(), z.record(z.string(), z.unknown())) }).describe('the twin at `from`'),
  changes: z
    .array(z.tuple([z.number().describe('ms since the epoch'), z.enum(['d', 'z']).describe('device or zone'), z.string().describe('its id'), z.string().describe('the field'), z.union([z.string(), z.number(), z.boolean(), z.null()])]))
    .describe('every change in (from, to], in order'),
  alarms: z.array(z.record(z.string(), z.unknown())).describe('the alarms of the window, as the caller’s console would show them'),
  alarmsTruncated: z.boolean(),
});

const docs: RouteDoc[] = [
  {
    method: 'get',
    path: '/api/sites/:site/history',
    summary: 'Replay: the twin at `from` and every change up to `to`',
    description: 'Default window: the 24 h before `to` (default now); at most 7 days. Gzipped when the client accepts it. Reads at most `limits.historyMaxEvents` events (else 413); long windows are built off the event loop.',
    permission: 'state:read',
    params: siteParams,
    query: historyQuery,
    responses: { 200: { description: 'The history', schema: historyAnswer } },
    errors: ['STW_ERR_SITE_NOT_FOUND', 'STW_ERR_QUERY_TOO_LARGE'],
  },
];

export interface HistoryRouteOptions {
  alarms: AlarmWindowReader;
  /** The server's clock (the default window ends now). */
  now?: () => number;
  /** Events one history may read (config `limits.historyMaxEvents`); default DEFAULT_HISTORY_MAX_EVENTS. */
  maxEvents?: number;
  /**
   * Builds histories longer than a day in the long-read thread (server/reads/worker.ts). A day
   * or less (the dashboard's replay, ~15k events of the demo hotel) is built here in slices: a
   * few hundred ms, where starting the thread after an idle spell would add 1–3 s.
   */
  reads?: ReadWorker;
}

export function historyRoutes(opts: HistoryRouteOptions): ApiRouteModule {
  const now = opts.now ?? (() => Date.now());
  return {
    name: 'history',
    docs,
    register(app, deps) {
      app.get('/api/sites/:site/history', allow('state:read'), async (req: Request, res: Response) => {
        const site = visibleSiteOf(deps, req);
        const q = parseInput(historyQuery, req.query, 'query');
        const { fromMs, toMs } = historyWindow(q, now());
        const maxEvents = opts.maxEvents ?? DEFAULT_HISTORY_MAX_EVENTS;
        // A caller that hangs up stops the read.
        const gone = new AbortController();
        res.on('close', () => {
          if (!res.writableFinished) gone.abort();
        });
        const sources = { events: deps.events, registry: deps.registry, alarms: opts.alarms };
        // The replay shows the alarms the caller's console would: all of them to the desk, the
        // device-health ones to a technician, none to a role that reads no alarms.
        const has = (action: Action) => can(userOf(req).role, action);
        const alarmCategories = has('alarms:read') ? undefined : has('alarms:device-health') ? ['device-health'] : [];
        let json: Buffer;
        try {
          json =
            opts.reads && toMs - fromMs > DEFAULT_WINDOW_MS
              ? await opts.reads.history(
                  {
                    site,
                    devices: deps.registry.devicesOfSite(site.id),
                    alarms: await opts.alarms.overlapping(site.id, fromMs, toMs, MAX_HISTORY_ALARMS + 1, alarmCategories),
                    fromMs,
                    toMs,
                    maxEvents,
                    alarmCategories,
                  },
                  { signal: gone.signal },
                )
              : await buildHistoryJson(sources, site, fromMs, toMs, { maxEvents, signal: gone.signal, alarmCategories });
        } catch (err) {
          if (gone.signal.aborted) return;
          throw err;
        }
        await sendJsonBytesMaybeGzip(req, res, json);
      });
    },
  };
}
