/**
 * The HTTP API as an Express app. Building and listening are separate: the composition root
 * (or a test) calls `createHttpApp(deps)` and then listens, on port 0 in tests.
 *
 * Order matters and is fixed here: request metrics → security headers → health and metrics
 * (no auth) → JSON body parser → origin check (origin.ts) → public routes (login, setup) →
 * authentication → protected routes → /api 404 → JSON error handler.
 */
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { IncomingMessage } from 'node:http';
import helmet from 'helmet';
import { authenticate } from './auth.ts';
import { apiNotFound, errorHandler } from './errors.ts';
import { openApiRoutes } from './openapi/index.ts';
import { originCheck, type OriginPolicy } from './origin.ts';
import { authRoutes, sessionRoutes } from './routes/auth.ts';
import { deviceTypeRoutes } from './routes/device-types.ts';
import { deviceRoutes } from './routes/devices.ts';
import { eventRoutes } from './routes/events.ts';
import { siteRoutes } from './routes/sites.ts';
import { userRoutes } from './routes/users.ts';
import type { ApiDeps, ApiRouteModule, RouteDoc } from './types.ts';

export type { ApiDeps } from './types.ts';

/** Small on purpose: the largest legitimate body (a device or user) is well under 1 kB. */
export const BODY_LIMIT = '64kb';

/** A Host header fit to appear in a CSP source expression (host, IPv4, [IPv6], optional port). */
const HOST_SOURCE = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/**
 * helmet's default Content-Security-Policy, adjusted for the dashboard (a Vite build of
 * same-origin ES modules, three.js, socket.io) and nothing more:
 * - connect-src: the page's own origin, plus WebSocket to the same host (socket.io, MQTT over
 *   WebSocket at /mqtt). CSP3 lets 'self' match ws:/wss: of the same host, but older Safari does
 *   not; naming the host keeps WebSocket to any other host refused.
 * - img-src / worker-src: blob: for snapshots and any worker a bundle creates from a blob.
 * - upgrade-insecure-requests off: StoreTwin serves plain HTTP on the LAN by default
 *   (http://192.168.x.y:8080), and upgrading its own asset requests to https would break the page.
 */
const CSP_DIRECTIVES = {
  'connect-src': [
    "'self'",
    (req: IncomingMessage) => (typeof req.headers.host === 'string' && HOST_SOURCE.test(req.headers.host) ? `ws://${req.headers.host}` : "'self'"),
    (req: IncomingMessage) => (typeof req.headers.host === 'string' && HOST_SOURCE.test(req.headers.host) ? `wss://${req.headers.host}` : "'self'"),
  ],
  'img-src': ["'self'", 'data:', 'blob:'],
  'worker-src': ["'self'", 'blob:'],
  'upgrade-insecure-requests': null,
};

export const BUILTIN_ROUTES: readonly ApiRouteModule[] = [authRoutes, sessionRoutes, siteRoutes, deviceRoutes, deviceTypeRoutes, eventRoutes, userRoutes];

/** The routes createHttpApp registers itself, for the API description (server/api/openapi). */
const OPS_DOCS: readonly RouteDoc[] = [
  {
    method: 'get',
    path: '/healthz',
    auth: 'public',
    summary: 'Liveness and readiness',
    responses: {
      200: { description: 'Serving', example: { status: 'ok' } },
      503: { description: 'Still starting', example: { status: 'starting' } },
    },
  },
  {
    method: 'get',
    path: '/metrics',
    auth: 'public',
    summary: 'Prometheus metrics',
    description: 'Counters only, never identities or secrets; restrict it at the network or a reverse proxy if that matters where you deploy.',
    responses: { 200: { description: 'Prometheus text exposition format', type: 'text/plain' } },
  },
];

/**
 * Counts each request by its route pattern (`/api/devices/:device`), never the raw URL, so
 * the label set stays bounded whatever clients send; unmatched requests share one label.
 */
function countRequests(deps: ApiDeps) {
  return (req: Request, res: Response, next: NextFunction) => {
    res.on('finish', () => {
      const pattern: unknown = req.route?.path;
      const route = typeof pattern === 'string' ? pattern : req.path.startsWith('/api/') ? '/api (unmatched)' : '(unmatched)';
      deps.metrics.httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
    });
    next();
  };
}

/** The origin policy from the API options: X-Forwarded-Host counts only behind a trusted proxy. */
export function originPolicy(options: ApiDeps['options']): OriginPolicy {
  const trust = options?.trustProxy ?? false;
  return { trustProxy: trust !== false && trust !== 0, allowedOrigins: options?.allowedOrigins ?? [] };
}

export function createHttpApp(deps: ApiDeps): Express {
  const logger = deps.logger.child({ module: 'api' });
  const app = express();
  app.disable('x-powered-by');
  // req.ip (login rate limits, logs) and req.secure (the cookie's Secure flag) believe
  // X-Forwarded-* only from a proxy the operator named (config http.trustProxy).
  app.set('trust proxy', deps.options?.trustProxy ?? false);
  // ETags on JSON that changes every second (state, events) only cost hashing.
  app.set('etag', false);

  app.use(countRequests(deps));
  app.use(helmet({ contentSecurityPolicy: { directives: CSP_DIRECTIVES } }));

  app.get('/healthz', (_req, res) => {
    const ready = deps.ready?.() ?? true;
    res.status(ready ? 200 : 503).json({ status: ready ? 'ok' : 'starting' });
  });

  // Unauthenticated like every Prometheus target; it exposes counters, never identities or
  // secrets. Restrict it at the network or reverse proxy if that matters where you deploy.
  app.get('/metrics', async (_req, res) => {
    res.setHeader('Content-Type', deps.metrics.registry.contentType);
    res.send(await deps.metrics.registry.metrics());
  });

  // Pushes to /api/ingest/{adapter} keep their raw bytes (server/api/routes/integrations.ts):
  // adapters read JSON, XML and multipart themselves, under their own size cap.
  const json = express.json({ limit: BODY_LIMIT });
  app.use('/api', (req, res, next) => (req.path.startsWith('/ingest/') ? next() : json(req, res, next)));
  app.use('/api', originCheck(originPolicy(deps.options)));
  app.use('/api', (_req, res, next) => {
    // API answers are per user and often secret-bearing (device secrets, tokens): never cache.
    res.setHeader('Cache-Control', 'no-store');
    next();
  });

  const mounted = [...BUILTIN_ROUTES, ...(deps.routes ?? [])];
  // GET /api/openapi.json and /api/docs describe every module mounted here.
  const modules = [...mounted, openApiRoutes([...mounted, { name: 'operations', docs: OPS_DOCS, register() {} }])];
  const apiDeps: ApiDeps = { ...deps, logger };
  for (const m of modules.filter((r) => r.public)) m.register(app, apiDeps);
  app.use('/api', authenticate(deps.users));
  for (const m of modules.filter((r) => !r.public)) m.register(app, apiDeps);

  app.use('/api', apiNotFound());
  app.use(errorHandler({ logger, metrics: deps.metrics }));
  return app;
}
