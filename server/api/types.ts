/**
 * What the HTTP API is built from. Everything is injected: the composition root passes the
 * running services, tests pass real ones over a temporary SQLite file.
 */
import type { Express } from 'express';
import type { AuditStore } from '../audit/types.ts';
import type { UserService } from '../auth/users.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { DeviceRegistrar } from '../registry/types.ts';
import type { Site } from '../sites/model.ts';
import type { EventStore, Registry } from '../storage/types.ts';
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
}

export interface ApiDeps {
  registry: Registry;
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
