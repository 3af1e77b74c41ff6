/**
 * The dashboard (dashboard/, built by `npm run build` into dashboard/dist) served at `/`.
 * Public: the page and its assets carry no data; everything behind them needs a session.
 *
 * - /assets/* are Vite's content-hashed files: cached for a year, `immutable`, since a new
 *   build writes new names.
 * - index.html is `no-cache` (revalidated every time), so a new build is picked up at once.
 * - The app's client-side routes (/, /m, /login, /replay, /kpis, /audit, /integrations, /overview, /devices) all answer index.html.
 * - Without a build those routes answer 503 STW_ERR_DASHBOARD_NOT_BUILT as JSON, saying how to
 *   build; the API keeps working. The check is made per request, so building while the
 *   server runs is enough.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import { StoreTwinError } from '../../errors.ts';
import type { ApiRouteModule } from '../types.ts';

/** Client-side routes of the single-page app. */
export const SPA_ROUTES = ['/', '/m', '/login', '/replay', '/kpis', '/audit', '/integrations', '/overview', '/devices'] as const;

const YEAR_S = 365 * 24 * 3600;

export interface DashboardOptions {
  /** The Vite build output (dashboard/dist). */
  distDir: string;
}

export function dashboardRoutes(opts: DashboardOptions): ApiRouteModule {
  const distDir = path.resolve(opts.distDir);
  const indexFile = path.join(distDir, 'index.html');
  const assetsDir = path.join(distDir, 'assets') + path.sep;
  return {
    name: 'dashboard',
    public: true,
    register(app) {
      app.get(SPA_ROUTES as unknown as string[], (_req: Request, res: Response, next: NextFunction) => {
        if (!existsSync(indexFile)) {
          return next(new StoreTwinError('STW_ERR_DASHBOARD_NOT_BUILT'));
        }
        res.setHeader('Cache-Control', 'no-cache');
        res.sendFile(indexFile, { lastModified: true, etag: true, cacheControl: false });
      });
      app.use(
        express.static(distDir, {
          // `/` is the SPA route above; index.html is never served from a directory listing.
          index: false,
          redirect: false,
          fallthrough: true,
          setHeaders(res, file) {
            if (file.startsWith(assetsDir)) res.setHeader('Cache-Control', `public, max-age=${YEAR_S}, immutable`);
            else res.setHeader('Cache-Control', 'no-cache');
          },
        }),
      );
    },
  };
}
