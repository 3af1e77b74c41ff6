/**
 * What the HTTP API is built from. Everything is injected: the composition root passes the
 * running services, tests pass real ones over a temporary SQLite file.
 */
import type { Express } from 'express';
import type { z } from 'zod';
import type { AuditStore } from '../audit/types.ts';
import type { Action } from '../auth/roles.ts';
import type { UserService } from '../auth/users.ts';
import type { ErrorCode } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { DeviceRegistrar } from '../registry/types.ts';
import type { Site } from '../sites/model.ts';
import type { AccountStore } from '../auth/store.ts';
import type { DeviceLookup } from '../registry/directory.ts';
import type { SettingsStore } from '../settings/store.ts';
import type { EventStore } from '../storage/types.ts';
import type { TwinReader } from '../twin/types.ts';

/** What the API reads of the site catalogue. SiteCatalog satisfies it. */
export interface SiteSource {
  list(): Site[];
  get(id: string): Site | undefined;
}

export interface ApiOptions {
  /** Failed logins allowed per client IP and username per window (default 10 per minute). */
  loginRateLimit?: { windowMs?: number; limit?: number };
  /**
   * `Secure` flag of the session cookie: 'auto' (default) sets it when the request came over
   * HTTPS (`req.secure`, which honours Express's `trust proxy` setting).
   */
  secureCookie?: boolean | 'auto';
  /** Express's `trust proxy` (config http.trustProxy); false by default. */
  trustProxy?: boolean | number | string;
  /** Origins besides the server's own allowed to send cookie-authenticated changes. */
  allowedOrigins?: readonly string[];
}

/**
 * A group of routes added by another feature (alarms, rules, ingest…). Public modules are
 * mounted before the authentication middleware, the others after it, so they only need to
 * check permissions with `allow(action)` from server/api/auth.ts.
 */
export interface ApiRouteModule {
  name: string;
  public?: boolean;
  register(app: Express, deps: ApiDeps): void;
  /**
   * What `register` adds, as data: GET /api/openapi.json and /api/docs are built from it
   * (server/api/openapi). Every `/api` route a module registers needs an entry here, naming the
   * same zod schemas the handler validates with; tests/api/openapi.test.ts fails naming any
   * route that has none.
   */
  docs?: readonly RouteDoc[];
}

/**
 * Who may call a route: `public` (no credentials), `user` (any signed-in user, or with
 * `permission` a role that has it), `integration` (an integration's token as `?token=` or
 * bearer, or the platform's own signature).
 */
export type RouteAuth = 'public' | 'user' | 'integration';

/** One action (roles.ts), all of several (`allow(a), allow(b)`), or any one of several. */
export type RoutePermission = Action | { allOf: readonly Action[] } | { anyOf: readonly Action[] };

/** One documented answer. JSON unless `type` says otherwise; `schema` describes a JSON body. */
export interface RouteResponse {
  description: string;
  schema?: z.ZodType;
  /** Media type when not JSON (`text/csv`, `image/jpeg`, `text/html`, `text/plain`). */
  type?: string;
  example?: unknown;
}

export interface RawBodyExample {
  name: string;
  contentType: string;
  body: string;
}

/** One route as the API description shows it (server/api/openapi builds the document from these). */
export interface RouteDoc {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Exactly as registered with Express: `/api/devices/:device`. */
  path: string;
  summary: string;
  /** Markdown: what the summary leaves out (scoping, limits, side effects). */
  description?: string;
  /** Default `user`. */
  auth?: RouteAuth;
  permission?: RoutePermission;
  /** The zod schemas the handler passes to parseInput, the very same constants. */
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  /** A request body that passes `body` (checked when the document is built). */
  bodyExample?: unknown;
  /** A body taken as raw bytes in someone else's format (platform pushes), instead of `body`. */
  rawBody?: { description: string; examples?: readonly RawBodyExample[] };
  /** Success answers by status. Refusals are added from `errors` and from what the route takes. */
  responses: Readonly<Record<number, RouteResponse>>;
  /**
   * Codes this route answers with besides the ones every route of its kind can
   * (STW_ERR_VALIDATION with params/query/body, STW_ERR_AUTH_REQUIRED, STW_ERR_FORBIDDEN…).
   */
  errors?: readonly ErrorCode[];
}

export interface ApiDeps {
  /** The devices, in memory (the directory): what routes read of a device. */
  registry: DeviceLookup;
  /** Users, sessions and tokens (routes mostly go through `users`). */
  accounts: AccountStore;
  /** The setup token lives here. */
  settings: SettingsStore;
  events: EventStore;
  sites: SiteSource;
  twin: TwinReader;
  devices: DeviceRegistrar;
  users: UserService;
  /**
   * The audit log (server/audit): route handlers record people's actions in it. The composition
   * root always passes it; a test harness that leaves it out records nothing.
   */
  audit?: AuditStore;
  metrics: Metrics;
  logger: Logger;
  /** false while the server is still starting: `/healthz` then answers 503 `starting`. */
  ready?: () => boolean;
  options?: ApiOptions;
  /** Extra route modules, mounted after the built-in ones and before the /api 404 handler. */
  routes?: readonly ApiRouteModule[];
}
