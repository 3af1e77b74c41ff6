/**
 * Cross-origin protection for what a browser sends on its own: the session cookie.
 *
 * SameSite=Strict keeps the cookie off requests from other *sites*, but a page on another
 * port of the same host, or on a sibling subdomain, is the same site: its form posts and its
 * WebSocket handshakes carry the cookie. So a state-changing request (anything but GET, HEAD,
 * OPTIONS) and a socket.io handshake are refused with 403 STW_ERR_ORIGIN_FORBIDDEN when:
 * - they name an `Origin` that is not this server's own (its Host header, or the
 *   X-Forwarded-Host a trusted proxy set) and not in `allowedOrigins`; or
 * - they authenticate with the cookie and say nothing of where they come from (no `Origin`,
 *   no `Sec-Fetch-Site: same-origin`): every current browser sends one of them, so such a
 *   request is a script, and scripts use `Authorization: Bearer`.
 * Bearer-token clients (integrations, the CLI, the dashboard's own API calls) send no Origin
 * and are unaffected. This is OWASP's "verifying origin with standard headers" defence.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { StoreTwinError } from '../errors.ts';
import { credentialsFromHeaders } from './auth.ts';

export interface OriginPolicy {
  /** Honour X-Forwarded-Host (only behind a reverse proxy that sets it: see `trustProxy`). */
  trustProxy: boolean;
  /** Other origins allowed to send cookie-authenticated changes, e.g. `https://ops.example.com`. */
  allowedOrigins: readonly string[];
}

type Headers = Record<string, string | string[] | undefined>;

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function first(value: string | string[] | undefined): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return v?.split(',')[0]?.trim() || undefined;
}

/**
 * true: the request says it comes from this server's own origin (or an allowed one);
 * false: it names another origin; null: it says nothing (no Origin, no Sec-Fetch-Site).
 */
export function fromOwnOrigin(headers: Headers, policy: OriginPolicy): boolean | null {
  const origin = first(headers.origin);
  if (origin === undefined) {
    const site = first(headers['sec-fetch-site']);
    return site === undefined ? null : site === 'same-origin';
  }
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false; // includes the opaque origin "null" (sandboxed frames, file: pages)
  }
  if (policy.allowedOrigins.includes(url.origin)) return true;
  const host = (policy.trustProxy ? first(headers['x-forwarded-host']) : undefined) ?? first(headers.host);
  return host !== undefined && url.host === host.toLowerCase();
}

/** Whether a cookie-authenticated or browser-sent request may go ahead (see the file comment). */
export function originAllowed(headers: Headers, policy: OriginPolicy, method = 'POST'): boolean {
  if (SAFE_METHODS.has(method.toUpperCase())) return true;
  const own = fromOwnOrigin(headers, policy);
  if (own === false) return false;
  if (own === null) return credentialsFromHeaders(headers)?.via !== 'cookie';
  return true;
}

/** Express middleware for /api: 403 STW_ERR_ORIGIN_FORBIDDEN on cross-origin changes. */
export function originCheck(policy: OriginPolicy): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction) => {
    if (originAllowed(req.headers, policy, req.method)) return next();
    next(
      new StoreTwinError(
        'STW_ERR_ORIGIN_FORBIDDEN',
        req.headers.origin === undefined
          ? 'a change authenticated by the session cookie must come from the dashboard (Origin header); scripts use Authorization: Bearer'
          : `requests from origin "${String(req.headers.origin).slice(0, 100)}" may not change anything here`,
      ),
    );
  };
}
