/**
 * Recording from a route handler: one awaited call after the action succeeded, before the
 * answer, so whoever reads the log next (any worker) finds the entry, e.g.
 *
 *     await audit(deps, req, { action: 'alarm.acknowledged', site: alarm.site, target: { kind: 'alarm', id: alarm.id } });
 *
 * The actor is the authenticated caller (its name, id and role now) unless one is given (a
 * login, which has no caller yet; a failed login names the account tried), and the address is
 * `req.ip` — the client, or behind a trusted proxy (http.trustProxy) the forwarded one.
 */
import type { Request } from 'express';
import { widestScope } from '../audit/index.ts';
import type { AuditActor, AuditStore, NewAuditEntry } from '../audit/types.ts';
import type { PublicUser } from '../auth/users.ts';
import { userOf } from './auth.ts';

/** What a call site says; who and from where come from the request. */
export type AuditFields = Omit<NewAuditEntry, keyof AuditActor | 'at'>;

/** `req.ip`, with an IPv4 client on a dual-stack socket (`::ffff:10.0.0.5`) shown as IPv4. */
export function clientIp(req: Request): string | null {
  const ip = req.ip ?? req.socket.remoteAddress ?? null;
  return ip?.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

/** A signed-in account, or a bare name (a failed login's attempt, `setup`). */
export function actorOf(req: Request, who: PublicUser | string = userOf(req)): AuditActor {
  return typeof who === 'string'
    ? { user: who, userId: null, role: null, ip: clientIp(req) }
    : { user: who.username, userId: who.id, role: who.role, ip: clientIp(req) };
}

/**
 * Appends one entry. A site-less entry is scoped to the accounts it involves: the acting
 * account, and the one the call site names (`scope`: a user change names the target's sites).
 * So a site-limited admin sees what the accounts it manages did and had done to them, and
 * nothing an account for every site did without a site. A test harness without an audit store
 * records nothing; the composition root always has one.
 */
export async function audit(deps: { audit?: AuditStore }, req: Request, fields: AuditFields, who: PublicUser | string = userOf(req)): Promise<void> {
  if (!deps.audit) return;
  await deps.audit.append(entryOf(req, fields, who));
}

/** Several entries of one request (a CSV import's devices), in one transaction. */
export async function auditMany(deps: { audit?: AuditStore }, req: Request, fields: readonly AuditFields[], who: PublicUser | string = userOf(req)): Promise<void> {
  if (!deps.audit || fields.length === 0) return;
  await deps.audit.appendMany(fields.map((f) => entryOf(req, f, who)));
}

function entryOf(req: Request, fields: AuditFields, who: PublicUser | string): NewAuditEntry {
  const lists = [...(typeof who === 'string' ? [] : [who.sites]), ...(fields.scope === undefined ? [] : [fields.scope])];
  return { ...actorOf(req, who), ...fields, scope: widestScope(...lists) };
}
