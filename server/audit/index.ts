/** The audit log: entry types, its stores (SQLite, PostgreSQL), and the small helpers every recorder uses. */
import type { PublicDevice } from '../registry/types.ts';
import type { AuditActor, AuditTarget } from './types.ts';

export * from './types.ts';
export { SqliteAuditStore } from './sqlite-store.ts';
export { PostgresAuditStore, AUDIT_PG_SCHEMA } from './postgres-store.ts';
export { MAX_AUDIT_PAGE } from './paging.ts';

/** The command line acts for whoever has the data directory: recorded as `cli`, no address. */
export const CLI_ACTOR: AuditActor = { user: 'cli', userId: null, role: null, ip: null };

/**
 * What an edit changed: of the fields given, those whose value differs (compared as JSON),
 * as they were and as they became. Nothing changed: both undefined.
 */
export function changes<T extends object>(before: T, after: T): { before?: Record<string, unknown>; after?: Record<string, unknown> } {
  const was: Record<string, unknown> = {};
  const is: Record<string, unknown> = {};
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  for (const key of keys) {
    const a = (before as Record<string, unknown>)[key];
    const b = (after as Record<string, unknown>)[key];
    if (JSON.stringify(a) === JSON.stringify(b)) continue;
    // JSON has no undefined: a field that appears or goes away is null on the other side.
    was[key] = a ?? null;
    is[key] = b ?? null;
  }
  return Object.keys(is).length === 0 ? {} : { before: was, after: is };
}

/** A user as an entry's target: the id, and the name people read. */
export function userTarget(u: { id: number; username: string }): AuditTarget {
  return { kind: 'user', id: String(u.id), name: u.username };
}

/** What the log keeps of a device: what people set, never its secret or the secret's hash. */
export function deviceFields(d: Pick<PublicDevice, 'type' | 'zone' | 'label' | 'position' | 'externalIds' | 'enabled'>): Record<string, unknown> {
  return { type: d.type, zone: d.zone, label: d.label, position: d.position, externalIds: d.externalIds, enabled: d.enabled };
}

/**
 * The scope of a site-less entry from the site lists of the accounts it involves: all of them,
 * or every site (empty) as soon as one account is for every site.
 */
export function widestScope(...lists: ReadonlyArray<readonly string[]>): string[] {
  return lists.some((l) => l.length === 0) ? [] : [...new Set(lists.flat())];
}
