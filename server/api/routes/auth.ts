/**
 * Login, logout, the current user, first-start setup and API tokens.
 * Login and setup are public; the rest sits behind the authentication middleware.
 */
import type { Request, Response } from 'express';
import { rateLimit, ipKeyGenerator } from 'express-rate-limit';
import { z } from 'zod';
import { permissionsOf } from '../../auth/roles.ts';
import { completeSetup } from '../../auth/setup.ts';
import { sha256Hex } from '../../auth/secrets.ts';
import { API_TOKEN_MAX_TTL_DAYS, PASSWORD_MAX, passwordSchema, tokenId, type LoginResult } from '../../auth/users.ts';
import { userTarget } from '../../audit/index.ts';
import { StoreTwinError } from '../../errors.ts';
import { audit } from '../audit.ts';
import { SESSION_COOKIE, authOf } from '../auth.ts';
import { meSchema, sessionSchema, tokenInfoSchema, userSchema } from '../openapi/schemas.ts';
import type { ApiDeps, ApiRouteModule, RouteDoc } from '../types.ts';
import { parseInput } from '../validate.ts';

// Login checks shape only: the rules for a *new* password do not apply to an existing one.
const loginSchema = z.object({
  username: z.string().min(1).max(64),
  password: z.string().min(1).max(PASSWORD_MAX),
});

const setupSchema = z.object({
  setupToken: z.string().min(1).max(512),
  username: z.string(),
  password: z.string(),
});

const tokenSchema = z
  .object({
    name: z.string().trim().min(1).max(64),
    ttlDays: z.number().int().min(1).max(API_TOKEN_MAX_TTL_DAYS).optional(),
  })
  .strict();

const passwordChangeSchema = z.strictObject({
  currentPassword: z.string().min(1).max(PASSWORD_MAX),
  newPassword: passwordSchema,
});

const tokenIdParams = z.object({ id: z.string().regex(/^[0-9a-f]{16}$/, 'a token id: 16 hex digits from GET /api/auth/tokens') });

function cookieSecure(deps: ApiDeps, req: Request): boolean {
  const opt = deps.options?.secureCookie ?? 'auto';
  return opt === 'auto' ? req.secure : opt;
}

/**
 * Failed password guesses allowed per client and account. Logins name the account in the body;
 * a password change is the authenticated caller's own account (`account` below), so accounts
 * behind one address (an office NAT, a proxy) do not share a budget.
 */
function loginLimiter(deps: ApiDeps, account?: (req: Request) => string) {
  return rateLimit({
    windowMs: deps.options?.loginRateLimit?.windowMs ?? 60_000,
    limit: deps.options?.loginRateLimit?.limit ?? 10,
    // Per client and username: guessing one account's password is slowed down without letting
    // one noisy client lock everybody else out of their own accounts.
    keyGenerator: (req) => {
      if (account) return `${ipKeyGenerator(req.ip ?? 'unknown')}|${account(req)}`;
      const body: unknown = req.body;
      // Lower-cased: usernames are case-insensitive (COLLATE NOCASE), so "Admin" and "ADMIN"
      // are the same account and share one budget of guesses.
      const name =
        typeof body === 'object' && body !== null && 'username' in body && typeof body.username === 'string'
          ? body.username.slice(0, 64).toLowerCase()
          : '';
      return `${ipKeyGenerator(req.ip ?? 'unknown')}|${name}`;
    },
    // Only failures count: a user who logs in correctly several times is not a guesser.
    // (Also in front of password changes, where a stolen session could guess the current one.)
    skipSuccessfulRequests: true,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    handler: (_req, _res, next) => next(new StoreTwinError('STW_ERR_RATE_LIMITED', 'too many failed logins, try again later')),
  });
}

const authDocs: RouteDoc[] = [
  {
    method: 'post',
    path: '/api/auth/login',
    auth: 'public',
    summary: 'Log in: a session token and the session cookie',
    description: 'The token works as `Authorization: Bearer TOKEN`; the `storetwin_session` cookie (HttpOnly, SameSite=Strict) serves browsers. A wrong password and an unknown user answer alike. Failed logins are limited per client address and username.',
    body: loginSchema,
    bodyExample: { username: 'admin', password: 'correct horse battery' },
    responses: { 200: { description: 'A new session', schema: sessionSchema } },
    errors: ['STW_ERR_AUTH_INVALID', 'STW_ERR_RATE_LIMITED'],
  },
  {
    method: 'post',
    path: '/api/auth/setup',
    auth: 'public',
    summary: 'Create the first admin with the one-time setup token',
    description: 'Only while no user exists: `storetwin serve` prints the setup token at start.',
    body: setupSchema,
    bodyExample: { setupToken: '…printed by storetwin serve…', username: 'admin', password: 'at least 10 chars' },
    responses: { 201: { description: 'The admin created', schema: z.object({ user: userSchema }) } },
    errors: ['STW_ERR_SETUP_DONE', 'STW_ERR_SETUP_TOKEN_INVALID', 'STW_ERR_USER_EXISTS'],
  },
];

export const authRoutes: ApiRouteModule = {
  name: 'auth',
  public: true,
  docs: authDocs,
  register(app, deps) {
    app.post('/api/auth/login', loginLimiter(deps), async (req: Request, res: Response) => {
      const { username, password } = parseInput(loginSchema, req.body, 'body');
      let session: LoginResult;
      try {
        session = await deps.users.login(username, password);
      } catch (err) {
        // The name tried (never the password), for whoever watches for guessing. An account of
        // that name lends its sites, so its site-limited admins see the attempts too.
        if (err instanceof StoreTwinError && err.code === 'STW_ERR_AUTH_INVALID') {
          const account = await deps.users.findUser(username);
          const target = account ? userTarget(account) : null;
          await audit(deps, req, { action: 'auth.login_failed', site: null, target, scope: account?.sites ?? [] }, username);
        }
        throw err;
      }
      await audit(deps, req, { action: 'auth.login', site: null, target: null }, session.user);
      sendSession(deps, req, res, session);
    });

    app.post('/api/auth/setup', async (req: Request, res: Response) => {
      // Checked before validating so a finished installation answers the same whatever is sent.
      if ((await deps.users.countUsers()) > 0) throw new StoreTwinError('STW_ERR_SETUP_DONE');
      const { setupToken, username, password } = parseInput(setupSchema, req.body, 'body');
      const user = await completeSetup({ settings: deps.settings, users: deps.users }, setupToken, { username, password });
      await audit(deps, req, { action: 'user.created', site: null, target: userTarget(user), after: { username: user.username, role: user.role, sites: user.sites } }, 'setup');
      deps.logger.info({ user: user.username }, 'setup completed: first admin created');
      res.status(201).json({ user });
    });
  },
};

/** A new session: its token in the body (for bearer clients) and in the HttpOnly cookie. */
function sendSession(deps: ApiDeps, req: Request, res: Response, { token, user, expiresAt }: LoginResult): void {
  res.cookie(SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: 'strict',
    secure: cookieSecure(deps, req),
    path: '/',
    expires: new Date(expiresAt),
  });
  res.json({ token, user, expiresAt });
}

const sessionDocs: RouteDoc[] = [
  {
    method: 'post',
    path: '/api/auth/logout',
    summary: 'Revoke the token this request used (session or API token)',
    responses: { 204: { description: 'Revoked; the cookie is cleared' } },
  },
  {
    method: 'get',
    path: '/api/me',
    summary: 'Who you are and what your role may do',
    responses: { 200: { description: 'The user and the actions of its role', schema: meSchema } },
  },
  {
    method: 'post',
    path: '/api/auth/tokens',
    summary: 'Create a long-lived API token for an integration',
    description: 'The token is shown this once. Without `ttlDays` it does not expire.',
    body: tokenSchema,
    bodyExample: { name: 'bms-bridge', ttlDays: 365 },
    responses: {
      201: { description: 'The token', schema: z.object({ id: z.string(), token: z.string(), name: z.string(), expiresAt: z.string().nullable() }) },
    },
  },
  {
    method: 'get',
    path: '/api/auth/tokens',
    summary: 'Your sessions and API tokens that still work',
    description: 'Never the token itself: `id` is the first 16 hex digits of its sha256; `current` marks the one this request used.',
    responses: { 200: { description: 'Your tokens', schema: z.object({ items: z.array(tokenInfoSchema.extend({ current: z.boolean() })) }) } },
  },
  {
    method: 'delete',
    path: '/api/auth/tokens/:id',
    summary: 'Revoke one of your tokens',
    params: tokenIdParams,
    responses: { 204: { description: 'Revoked' } },
    errors: ['STW_ERR_TOKEN_NOT_FOUND'],
  },
  {
    method: 'post',
    path: '/api/auth/password',
    summary: 'Change your password',
    description: 'Every other session and API token of the account ends; the answer is a fresh session (and cookie). Rate-limited like logins.',
    body: passwordChangeSchema,
    bodyExample: { currentPassword: 'correct horse battery', newPassword: 'staple battery horse correct' },
    responses: { 200: { description: 'A new session', schema: sessionSchema } },
    errors: ['STW_ERR_PASSWORD_INVALID', 'STW_ERR_RATE_LIMITED'],
  },
];

export const sessionRoutes: ApiRouteModule = {
  name: 'session',
  docs: sessionDocs,
  register(app, deps) {
    app.post('/api/auth/logout', async (req: Request, res: Response) => {
      await deps.users.logout(authOf(req).token);
      await audit(deps, req, { action: 'auth.logout', site: null, target: { kind: 'token', id: tokenId(sha256Hex(authOf(req).token)) } });
      res.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: 'strict', secure: cookieSecure(deps, req), path: '/' });
      res.status(204).end();
    });

    app.get('/api/me', (req: Request, res: Response) => {
      const { user } = authOf(req);
      res.json({ user, permissions: permissionsOf(user.role) });
    });

    app.post('/api/auth/tokens', async (req: Request, res: Response) => {
      const { name, ttlDays } = parseInput(tokenSchema, req.body, 'body');
      const token = await deps.users.createApiToken(authOf(req).user.id, name, ttlDays);
      const id = tokenId(sha256Hex(token));
      const expiresAt = (await deps.users.tokenExpiry(token)) ?? null;
      await audit(deps, req, { action: 'token.created', site: null, target: { kind: 'token', id, name }, detail: { expiresAt } });
      res.status(201).json({ id, token, name, expiresAt });
    });

    app.get('/api/auth/tokens', async (req: Request, res: Response) => {
      const { user, token } = authOf(req);
      const current = tokenId(sha256Hex(token));
      res.json({ items: (await deps.users.listTokens(user.id)).map((t) => ({ ...t, current: t.id === current })) });
    });

    app.delete('/api/auth/tokens/:id', async (req: Request, res: Response) => {
      const { id } = parseInput(tokenIdParams, req.params, 'params');
      await deps.users.revokeToken(authOf(req).user.id, id);
      deps.logger.info({ user: authOf(req).user.username, token: id }, 'token revoked');
      await audit(deps, req, { action: 'token.revoked', site: null, target: { kind: 'token', id } });
      res.status(204).end();
    });

    // Every session and token of the account ends (whoever knew the old password is out);
    // the caller gets a fresh session so the dashboard stays logged in.
    app.post('/api/auth/password', loginLimiter(deps, (req) => `#${authOf(req).user.id}`), async (req: Request, res: Response) => {
      const { currentPassword, newPassword } = parseInput(passwordChangeSchema, req.body, 'body');
      const { user } = authOf(req);
      await deps.users.changePassword(user.id, currentPassword, newPassword);
      deps.logger.info({ user: user.username }, 'password changed: every session and token revoked');
      await audit(deps, req, { action: 'auth.password_changed', site: null, target: userTarget(user) });
      sendSession(deps, req, res, await deps.users.login(user.username, newPassword));
    });
  },
};
