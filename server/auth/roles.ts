/**
 * Who may do what, as data: one table from action to the roles allowed, read by the HTTP API
 * (and by the live feed and CLI later) so the README's roles table and the code cannot drift.
 *
 * Site scoping is orthogonal to roles: a user whose `sites` list is non-empty sees only those
 * sites. Anything outside them is answered as if it did not exist (404 STW_ERR_SITE_NOT_FOUND /
 * STW_ERR_DEVICE_NOT_FOUND, never 403), so a restricted account cannot probe which sites or
 * devices another store has.
 */
import { StoreTwinError } from '../errors.ts';
import { ROLES, type Role, type UserRecord } from '../storage/types.ts';

export const ACTIONS = [
  'sites:read',
  'state:read',
  'events:read',
  'footfall:read',
  'devices:read',
  'devices:write',
  'alarms:read',
  'alarms:ack',
  'alarms:device-health',
  'zones:arm',
  'kpis:read',
  'rules:read',
  'rules:write',
  'integrations:manage',
  'users:manage',
  'audit:read',
] as const;
export type Action = (typeof ACTIONS)[number];

const ADMIN_ONLY: readonly Role[] = ['admin'];

/**
 * The permission matrix. admin may do everything; the others get exactly what their job needs:
 * - technician: installs and debugs devices, so devices read/write plus the views that show a
 *   message arriving (sites, state, events) and rules:read to see why a rule fired or not;
 * - manager: watches and reacts — every read, acknowledges alarms, arms and disarms zones;
 * - operator: watches and acknowledges alarms, never arms or changes anything;
 * - alarms:device-health: sees, acknowledges, clears and comments on the alarms whose category
 *   is device-health (tamper, battery, silence) — the technician's work — and no other alarm
 *   (server/alarms/category.ts).
 */
export const PERMISSIONS: Readonly<Record<Action, readonly Role[]>> = {
  'sites:read': ['admin', 'manager', 'operator', 'technician'],
  'state:read': ['admin', 'manager', 'operator', 'technician'],
  'events:read': ['admin', 'manager', 'operator', 'technician'],
  'footfall:read': ['admin', 'manager', 'operator'],
  'devices:read': ['admin', 'manager', 'operator', 'technician'],
  'devices:write': ['admin', 'technician'],
  'alarms:read': ['admin', 'manager', 'operator'],
  'alarms:ack': ['admin', 'manager', 'operator'],
  'alarms:device-health': ['admin', 'technician'],
  'zones:arm': ['admin', 'manager'],
  // Response KPIs rate people (who acknowledged how fast): for those who run the team.
  'kpis:read': ['admin', 'manager'],
  'rules:read': ['admin', 'manager', 'operator', 'technician'],
  'rules:write': ADMIN_ONLY,
  'integrations:manage': ADMIN_ONLY,
  'users:manage': ADMIN_ONLY,
  // Who did what, from where: admins (a site-limited admin sees its sites, server/api/routes/audit.ts).
  'audit:read': ADMIN_ONLY,
};

export function can(role: Role, action: Action): boolean {
  return PERMISSIONS[action].includes(role);
}

/** Every action a role may take, in ACTIONS order (for `GET /api/me` and the dashboard's menus). */
export function permissionsOf(role: Role): Action[] {
  return ACTIONS.filter((action) => can(role, action));
}

/** Throws STW_ERR_FORBIDDEN unless the role may take the action. */
export function assertCan(role: Role, action: Action): void {
  if (!can(role, action)) {
    throw new StoreTwinError('STW_ERR_FORBIDDEN', `role "${role}" may not ${action}`);
  }
}

type Scoped = Pick<UserRecord, 'sites'>;

/** Empty `sites` means every site. */
export function canSeeSite(user: Scoped, site: string): boolean {
  return user.sites.length === 0 || user.sites.includes(site);
}

/** Lists are filtered rather than refused. */
export function visibleSites<T extends { id: string }>(user: Scoped, sites: readonly T[]): T[] {
  return sites.filter((s) => canSeeSite(user, s.id));
}

/** Direct access to a site outside the user's scope is the same 404 as an unknown site. */
export function assertSiteVisible(user: Scoped, site: string): void {
  if (!canSeeSite(user, site)) throw new StoreTwinError('STW_ERR_SITE_NOT_FOUND', `no site "${site}"`);
}

/**
 * The single site a query is narrowed to for this user: the one asked for (if visible), else
 * the user's only site, else undefined (unrestricted user, no filter). A user restricted to
 * several sites must name one, because the stores filter on one site at a time and silently
 * widening the query would leak other sites' data.
 */
export function scopeSite(user: Scoped, requested: string | undefined): string | undefined {
  if (requested !== undefined) {
    assertSiteVisible(user, requested);
    return requested;
  }
  if (user.sites.length === 0) return undefined;
  if (user.sites.length === 1) return user.sites[0];
  throw new StoreTwinError('STW_ERR_VALIDATION', 'site is required: your account is limited to several sites', [
    { path: ['site'], message: `one of: ${user.sites.join(', ')}` },
  ]);
}

/**
 * Whether `actor` may manage the account `target` (list, change, delete it). An admin without
 * a site list manages everyone; an admin limited to some sites manages only accounts limited
 * to a subset of them, never an unlimited account (which would see every site) and never one
 * that reaches into a site it cannot see itself.
 */
export function canManageAccount(actor: Scoped, target: Scoped): boolean {
  if (actor.sites.length === 0) return true;
  return target.sites.length > 0 && target.sites.every((s) => actor.sites.includes(s));
}

/**
 * A limited admin may only hand out sites it has itself, and never "every site" (an empty
 * list): 403 STW_ERR_FORBIDDEN otherwise.
 */
export function assertCanGrantSites(actor: Scoped, sites: readonly string[]): void {
  if (canManageAccount(actor, { sites: [...sites] })) return;
  throw new StoreTwinError(
    'STW_ERR_FORBIDDEN',
    sites.length === 0 ? 'your account is limited to some sites: it may not create or make an account for every site' : 'your account may not grant sites outside its own',
  );
}

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}
