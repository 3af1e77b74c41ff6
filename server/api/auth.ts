/**
 * Authentication and authorisation for the HTTP API. A request carries a session token or an
 * API token, either as `Authorization: Bearer TOKEN` or in the `storetwin_session` cookie
 * (HttpOnly, SameSite=Strict: the browser never sends it cross-site; same-site pages on
 * other ports or subdomains are kept out by the Origin check in origin.ts).
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { assertCan, type Action } from '../auth/roles.ts';
import type { PublicUser, UserService } from '../auth/users.ts';
import { StoreTwinError } from '../errors.ts';

export const SESSION_COOKIE = 'storetwin_session';

export interface AuthContext {
  user: PublicUser;
  /** The token this request authenticated with (logout revokes exactly this one). */
  token: string;
}

// A WeakMap rather than a property on `req`: typed without global declaration merging, and
// entries go away with the request.
const contexts = new WeakMap<Request, AuthContext>();

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    const raw = part.slice(eq + 1).trim();
    try {
      return decodeURIComponent(raw);
    } catch {
      return raw;
    }
  }
  return undefined;
}

/**
 * The presented token: undefined when none, null when an Authorization header is present but
 * not a Bearer token (refused as invalid rather than silently falling back to the cookie).
 */
export function tokenFromRequest(req: Request): string | null | undefined {
  return tokenFromHeaders(req.headers);
}

/** The same from raw headers (HTTP requests and socket.io handshakes). */
export function tokenFromHeaders(headers: Record<string, string | string[] | undefined>): string | null | undefined {
  const found = credentialsFromHeaders(headers);
  return found === null || found === undefined ? found : found.token;
}

/** The presented token and how it came: `bearer` (a script chose to send it) or `cookie` (the browser did). */
export function credentialsFromHeaders(headers: Record<string, string | string[] | undefined>): { token: string; via: 'bearer' | 'cookie' } | null | undefined {
  const header = headers.authorization;
  if (header !== undefined) {
    const match = typeof header === 'string' ? /^Bearer[ ]+(\S+)\s*$/i.exec(header) : null;
    return match?.[1] === undefined ? null : { token: match[1], via: 'bearer' };
  }
  const raw = headers.cookie;
  const cookie = cookieValue(typeof raw === 'string' ? raw : undefined, SESSION_COOKIE);
  return cookie === undefined || cookie === '' ? undefined : { token: cookie, via: 'cookie' };
}

/** Attaches the caller to the request or refuses: 401 STW_ERR_AUTH_REQUIRED / STW_ERR_TOKEN_INVALID. */
export function authenticate(users: UserService): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction) => {
    const token = tokenFromRequest(req);
    if (token === undefined) return next(new StoreTwinError('STW_ERR_AUTH_REQUIRED'));
    if (token === null) return next(new StoreTwinError('STW_ERR_TOKEN_INVALID'));
    users.authenticate(token).then(
      (user) => {
        if (!user) return next(new StoreTwinError('STW_ERR_TOKEN_INVALID'));
        contexts.set(req, { user, token });
        next();
      },
      (err: unknown) => next(err),
    );
  };
}

/** The authenticated caller; only valid behind `authenticate`. */
export function authOf(req: Request): AuthContext {
  const ctx = contexts.get(req);
  // Reaching this without a context is a wiring bug (route mounted before the middleware).
  if (!ctx) throw new StoreTwinError('STW_ERR_AUTH_REQUIRED');
  return ctx;
}

export function userOf(req: Request): PublicUser {
  return authOf(req).user;
}

/** 403 STW_ERR_FORBIDDEN unless the caller's role may take the action. */
export function allow(action: Action): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction) => {
    assertCan(userOf(req).role, action);
    next();
  };
}
