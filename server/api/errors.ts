/**
 * Turns anything thrown in a route into the catalogue's JSON shape
 * `{"error": {"code", "message", "detail?"}}` with the code's HTTP status. Unknown errors become
 * STW_ERR_INTERNAL: logged with their stack, answered without it.
 */
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import { StoreTwinError, isStoreTwinError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';

/** Errors from Express's body parser carry a `type` and a 4xx `status` (http-errors). */
interface HttpError {
  status?: unknown;
  statusCode?: unknown;
  type?: unknown;
  expose?: unknown;
}

function asHttpError(err: unknown): HttpError | null {
  return typeof err === 'object' && err !== null ? (err as HttpError) : null;
}

export function toStoreTwinError(err: unknown): StoreTwinError | null {
  if (isStoreTwinError(err)) return err;
  const http = asHttpError(err);
  if (!http) return null;
  const status = typeof http.status === 'number' ? http.status : typeof http.statusCode === 'number' ? http.statusCode : 0;
  if (http.type === 'entity.too.large' || status === 413) return new StoreTwinError('STW_ERR_BODY_TOO_LARGE');
  if (http.type === 'entity.parse.failed') return new StoreTwinError('STW_ERR_VALIDATION', 'body is not valid JSON');
  // Other client errors raised by Express itself (bad charset or encoding, malformed %-escapes
  // in a path) are the caller's fault; their messages are written to be shown (`expose`).
  if (status >= 400 && status < 500 && http.expose === true) {
    return new StoreTwinError('STW_ERR_VALIDATION', err instanceof Error ? err.message : undefined);
  }
  return null;
}

export function sendError(res: Response, err: StoreTwinError): void {
  if (err.status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="storetwin"');
  res.status(err.status).json({ error: err.toJSON() });
}

export function errorHandler(deps: { logger: Logger; metrics: Metrics }): ErrorRequestHandler {
  return (err: unknown, req: Request, res: Response, next) => {
    let known = toStoreTwinError(err);
    if (!known) {
      deps.logger.error({ err, method: req.method, route: req.route?.path ?? null }, 'unhandled error in HTTP API');
      known = new StoreTwinError('STW_ERR_INTERNAL');
    }
    deps.metrics.refuse(known.code, 'http');
    // Headers already on the wire (a streamed response failed): Express's default handler
    // closes the connection, which is all that is left to do.
    if (res.headersSent) return next(err);
    sendError(res, known);
  };
}

/** Unknown routes under /api answer JSON rather than Express's HTML page. */
export function apiNotFound(): RequestHandler {
  return (req, _res, next) => next(new StoreTwinError('STW_ERR_NOT_FOUND', `no route ${req.method} ${(req.baseUrl + req.path).slice(0, 200)}`));
}
