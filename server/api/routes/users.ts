/**
 * User management (`users:manage`, admins only), scoped like everything else: an admin limited
 * to some sites lists, creates, changes and deletes only accounts limited to a subset of its
 * own sites; any other account answers 404 as if it did not exist (server/auth/roles.ts
 * canManageAccount). Only an admin without a site list manages accounts for every site.
 *
 * - `GET /api/users` → `{items}`
 * - `POST /api/users` `{username, password, role, sites?}` → 201 `{user}`
 * - `PATCH /api/users/{id}` `{role?, sites?, password?}` → `{user}` (a password reset ends the
 *   account's sessions and tokens; any change ends its live connections)
 * - `DELETE /api/users/{id}` → 204
 * - `GET /api/users/{id}/tokens` → `{items}`; `DELETE /api/users/{id}/tokens/{tokenId}` → 204
 */
import type { Request, Response } from 'express';
import { z } from 'zod';
import { assertCanGrantSites, canManageAccount } from '../../auth/roles.ts';
import { newUserSchema, userUpdateSchema, type PublicUser } from '../../auth/users.ts';
import { changes, userTarget, widestScope } from '../../audit/index.ts';
import { StoreTwinError } from '../../errors.ts';
import { audit } from '../audit.ts';
import { allow, userOf } from '../auth.ts';
import { tokenInfoSchema, userSchema } from '../openapi/schemas.ts';
import type { ApiDeps, ApiRouteModule, RouteDoc } from '../types.ts';
import { parseInput } from '../validate.ts';

const userParams = z.object({ id: z.coerce.number().int().positive() });
const tokenParams = z.object({ id: z.coerce.number().int().positive(), token: z.string().regex(/^[0-9a-f]{16}$/) });

/** The account named in the path, or 404 when unknown or outside the caller's reach. */
async function manageable(deps: ApiDeps, req: Request): Promise<PublicUser> {
  const { id } = parseInput(userParams, req.params, 'params');
  const target = await deps.users.getUser(id);
  if (!target || !canManageAccount(userOf(req), target)) throw new StoreTwinError('STW_ERR_USER_NOT_FOUND', `no user ${id}`);
  return target;
}

/** A typo in a site list would silently lock the user out of everything. */
function assertSitesExist(deps: ApiDeps, sites: readonly string[]): void {
  const unknown = sites.filter((s) => !deps.sites.get(s));
  if (unknown.length > 0) throw new StoreTwinError('STW_ERR_SITE_NOT_FOUND', `no site ${unknown.map((s) => `"${s}"`).join(', ')}`);
}

const userAnswer = z.object({ user: userSchema });
const scoping = 'An admin limited to some sites manages only accounts limited to a subset of its own sites; any other account answers 404 like one that does not exist.';

const docs: RouteDoc[] = [
  {
    method: 'get',
    path: '/api/users',
    summary: 'The accounts you may manage',
    description: scoping,
    permission: 'users:manage',
    responses: { 200: { description: 'Accounts', schema: z.object({ items: z.array(userSchema) }) } },
  },
  {
    method: 'post',
    path: '/api/users',
    summary: 'Create an account',
    description: `\`sites\` limits what the user sees (empty: every site). ${scoping}`,
    permission: 'users:manage',
    body: newUserSchema,
    bodyExample: { username: 'night-desk', password: 'a long passphrase', role: 'operator', sites: ['demo-hotel'] },
    responses: { 201: { description: 'Created; `Location` names it', schema: userAnswer } },
    errors: ['STW_ERR_USER_EXISTS', 'STW_ERR_SITE_NOT_FOUND'],
  },
  {
    method: 'patch',
    path: '/api/users/:id',
    summary: 'Change an account’s role, sites or password',
    description: 'A password reset ends the account’s sessions and tokens; any change ends its live connections. Demoting the last admin is refused.',
    permission: 'users:manage',
    params: userParams,
    body: userUpdateSchema,
    bodyExample: { role: 'manager' },
    responses: { 200: { description: 'The account as changed', schema: userAnswer } },
    errors: ['STW_ERR_USER_NOT_FOUND', 'STW_ERR_SITE_NOT_FOUND', 'STW_ERR_LAST_ADMIN'],
  },
  {
    method: 'delete',
    path: '/api/users/:id',
    summary: 'Delete an account',
    permission: 'users:manage',
    params: userParams,
    responses: { 204: { description: 'Deleted' } },
    errors: ['STW_ERR_USER_NOT_FOUND', 'STW_ERR_LAST_ADMIN'],
  },
  {
    method: 'get',
    path: '/api/users/:id/tokens',
    summary: 'An account’s sessions and API tokens',
    permission: 'users:manage',
    params: userParams,
    responses: { 200: { description: 'Its tokens (never the tokens themselves)', schema: z.object({ items: z.array(tokenInfoSchema) }) } },
    errors: ['STW_ERR_USER_NOT_FOUND'],
  },
  {
    method: 'delete',
    path: '/api/users/:id/tokens/:token',
    summary: 'Revoke one of an account’s tokens',
    permission: 'users:manage',
    params: tokenParams,
    responses: { 204: { description: 'Revoked' } },
    errors: ['STW_ERR_USER_NOT_FOUND', 'STW_ERR_TOKEN_NOT_FOUND'],
  },
];

export const userRoutes: ApiRouteModule = {
  name: 'users',
  docs,
  register(app, deps) {
    app.get('/api/users', allow('users:manage'), async (req: Request, res: Response) => {
      const actor = userOf(req);
      res.json({ items: (await deps.users.listUsers()).filter((u) => canManageAccount(actor, u)) });
    });

    app.post('/api/users', allow('users:manage'), async (req: Request, res: Response) => {
      const input = parseInput(newUserSchema, req.body, 'body');
      assertCanGrantSites(userOf(req), input.sites);
      assertSitesExist(deps, input.sites);
      const user = await deps.users.createUser(input);
      deps.logger.info({ user: user.username, role: user.role, sites: user.sites, by: userOf(req).username }, 'user created');
      await audit(deps, req, { action: 'user.created', site: null, target: userTarget(user), after: { username: user.username, role: user.role, sites: user.sites }, scope: user.sites });
      res.status(201).location(`/api/users/${user.id}`).json({ user });
    });

    app.patch('/api/users/:id', allow('users:manage'), async (req: Request, res: Response) => {
      const target = await manageable(deps, req);
      const input = parseInput(userUpdateSchema, req.body, 'body');
      if (input.sites !== undefined) {
        assertCanGrantSites(userOf(req), input.sites);
        assertSitesExist(deps, input.sites);
      }
      const user = await deps.users.updateUser(target.id, input);
      const changed = Object.keys(input).join(', ');
      deps.logger.info({ user: user.username, changed, by: userOf(req).username }, 'user changed');
      // Role and sites before → after; of the password only that it was reset.
      const edit = changes({ role: target.role, sites: target.sites }, { role: user.role, sites: user.sites });
      await audit(deps, req, { action: 'user.updated', site: null, target: userTarget(user), ...edit, ...(input.password === undefined ? {} : { detail: { passwordReset: true } }), scope: widestScope(target.sites, user.sites) });
      res.json({ user });
    });

    app.delete('/api/users/:id', allow('users:manage'), async (req: Request, res: Response) => {
      const target = await manageable(deps, req);
      await deps.users.deleteUser(target.id);
      deps.logger.info({ user: target.username, by: userOf(req).username }, 'user deleted');
      await audit(deps, req, { action: 'user.deleted', site: null, target: userTarget(target), before: { username: target.username, role: target.role, sites: target.sites }, scope: target.sites });
      res.status(204).end();
    });

    app.get('/api/users/:id/tokens', allow('users:manage'), async (req: Request, res: Response) => {
      res.json({ items: await deps.users.listTokens((await manageable(deps, req)).id) });
    });

    app.delete('/api/users/:id/tokens/:token', allow('users:manage'), async (req: Request, res: Response) => {
      const target = await manageable(deps, req);
      const { token } = parseInput(tokenParams, req.params, 'params');
      await deps.users.revokeToken(target.id, token);
      deps.logger.info({ user: target.username, token, by: userOf(req).username }, 'token revoked');
      await audit(deps, req, { action: 'token.revoked', site: null, target: { kind: 'token', id: token }, detail: { owner: target.username }, scope: target.sites });
      res.status(204).end();
    });
  },
};
