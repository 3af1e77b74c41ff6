/**
 * The audit log: what people did, once each, append-only. An entry says who (the account, its
 * role then), when, from where (the client address), what (a dotted action from the closed list
 * below), on what (the target), and for edits what changed (`before` → `after`, only the fields
 * that changed). Secrets never go in: no password, no token, no device secret — a token is named
 * by its listed id (server/auth/users.ts tokenId), a password change only as having happened.
 *
 * Shared with the dashboard (types only, plus the action list it translates).
 */

/** Every action recorded, grouped by the part before the dot. Closed: a new one is added here. */
export const AUDIT_ACTIONS = [
  'auth.login',
  'auth.login_failed',
  'auth.logout',
  'auth.password_changed',
  'token.created',
  'token.revoked',
  'alarm.acknowledged',
  'alarm.cleared',
  'alarm.commented',
  'zone.armed',
  'zone.disarmed',
  'zone.schedule_resumed',
  'maintenance.opened',
  'maintenance.ended',
  'rule.created',
  'rule.updated',
  'rule.deleted',
  'device.registered',
  'device.updated',
  'device.removed',
  'device.secret_rotated',
  'user.created',
  'user.updated',
  'user.deleted',
  'integration.created',
  'integration.updated',
  'integration.token_rotated',
  'integration.removed',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** The groups (`auth`, `alarm`…): `?action=alarm` asks for every alarm action. */
export const AUDIT_GROUPS = [...new Set(AUDIT_ACTIONS.map((a) => a.slice(0, a.indexOf('.'))))] as readonly string[];

export const AUDIT_TARGET_KINDS = ['user', 'token', 'alarm', 'zone', 'maintenance', 'rule', 'device', 'integration'] as const;
export type AuditTargetKind = (typeof AUDIT_TARGET_KINDS)[number];

/** What the action was done to. `name` is a readable label where the id is not (a user's name). */
export interface AuditTarget {
  kind: AuditTargetKind;
  id: string;
  name?: string;
}

/**
 * Who acted: an account (its name and id, and its role at the time), or the command line
 * (`cli`), or the one-time setup (`setup`). For `auth.login_failed` the name is the one tried,
 * and there is no account id: nobody was authenticated.
 */
export interface AuditActor {
  user: string;
  userId: number | null;
  role: string | null;
  /** The client address as the server saw it (`req.ip`, so behind `http.trustProxy` the forwarded one); null from the CLI. */
  ip: string | null;
}

export interface AuditEntry extends AuditActor {
  /** Increasing in recording order. */
  id: number;
  /** ISO 8601 UTC. */
  at: string;
  action: AuditAction;
  /** The site the action concerns; null for account actions (logins, tokens, users) and rules for every site. */
  site: string | null;
  target: AuditTarget | null;
  /** Edits: the changed fields as they were, and as they became. */
  before?: Record<string, unknown>;
  after?: Record<string, unknown>;
  /** Anything else worth keeping: an alarm comment, a token's name, that a password was reset. */
  detail?: Record<string, unknown>;
}

export interface NewAuditEntry extends AuditActor {
  action: AuditAction;
  site: string | null;
  target: AuditTarget | null;
  before?: Record<string, unknown>;
  after?: Record<string, unknown>;
  detail?: Record<string, unknown>;
  /**
   * For entries without a site: the sites it concerns — those of the accounts involved (the
   * acting account, the account changed or tried), every site (empty) as soon as one of them
   * is for every site. Decides which site-limited admins see it (AuditViewer); not shown.
   */
  scope?: readonly string[];
  /** Defaults to the store's clock. */
  at?: string;
}

/**
 * A site-limited admin reading the log. It sees entries of its sites, its own site-less entries,
 * and site-less entries whose scope is a non-empty subset of its sites (the accounts it manages,
 * as server/auth/roles.ts canManageAccount) — never another site's entries, nor those of
 * accounts for every site.
 */
export interface AuditViewer {
  userId: number;
  sites: readonly string[];
}

export interface AuditQuery {
  site?: string;
  /** The actor's name, case-insensitive like usernames. */
  user?: string;
  /** One action, or a group (`alarm`). */
  action?: string;
  /** ISO 8601; `from` inclusive, `to` exclusive. */
  from?: string;
  to?: string;
  limit: number;
  cursor?: string;
  /** Absent: everything (an admin for every site). */
  viewer?: AuditViewer;
}

export interface AuditPage {
  /** Newest first. */
  items: AuditEntry[];
  nextCursor: string | null;
}

/**
 * The storage interface (server/audit/sqlite-store.ts, postgres-store.ts; createAuditStore picks
 * one). Append-only on purpose: there is no update or delete, and the tables refuse both with
 * triggers, so a bug (or an admin with an API) cannot rewrite history.
 */
export interface AuditStore {
  /** Stores one entry; refuses an action not in AUDIT_ACTIONS (STW_ERR_VALIDATION). */
  append(entry: NewAuditEntry): Promise<AuditEntry>;
  /**
   * Several entries in one transaction, in the order given (ids increase along the list): all
   * or none — an unknown action refuses the lot. What one call site records at once (a CSV
   * import's devices) costs one commit, not one per entry.
   */
  appendMany(entries: readonly NewAuditEntry[]): Promise<AuditEntry[]>;
  /** A page, newest first by (at, id); refuses an unknown action or group and a forged cursor. */
  query(q: AuditQuery): Promise<AuditPage>;
}

export function isAuditAction(value: string): value is AuditAction {
  return (AUDIT_ACTIONS as readonly string[]).includes(value);
}
