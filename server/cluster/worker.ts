/**
 * What makes a StoreTwin one worker of several (`storetwin serve --worker`): it takes a share of
 * the sites by lease (site-ownership.ts) and reads each of its sites from the broker cluster
 * through that site's own persistent session (site-consumers.ts), handing messages to the same
 * ingest as ever. Its own broker session only publishes (commands, the alarm feed).
 */
import type { Config } from '../config.ts';
import { ExternalBroker, type ExternalBrokerDeps } from '../broker/external/client.ts';
import { siteSubscriptions } from '../broker/policy.ts';
import type { Logger } from '../observability/logger.ts';
import type { Postgres } from '../storage/postgres/postgres.ts';
import { PostgresSiteLeaseStore } from './lease-store.ts';
import { SiteConsumers } from './site-consumers.ts';
import { SiteOwnership } from './site-ownership.ts';

export interface SiteWorkerDeps {
  config: Config;
  pg: Postgres;
  /** What every site's session needs to hand its messages to ingest (the publishing session's own deps). */
  broker: Omit<ExternalBrokerDeps, 'session' | 'url' | 'config'>;
  /** Every site there is. */
  sites: () => readonly string[];
  logger: Logger;
  /** Awaited before an acquired site's broker session opens (site-consumers.ts `prepare`). */
  prepare?: (site: string) => Promise<void>;
  /** Awaited before a lost site's lease is released, after its session closed: the worker writes what it holds of those sites. */
  beforeRelease?: (sites: readonly string[]) => Promise<void>;
}

export interface SiteWorker {
  readonly name: string;
  readonly ownership: SiteOwnership;
  readonly consumers: SiteConsumers;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function defaultWorkerName(hostname: string, pid: number): string {
  return `${hostname}:${pid}`.replace(/[^A-Za-z0-9._:-]/g, '-').slice(0, 64);
}

export function createSiteWorker(deps: SiteWorkerDeps, name: string): SiteWorker {
  const { config, logger } = deps;
  const log = logger.child({ module: 'worker', worker: name });
  const external = config.broker.external;
  const ownership: SiteOwnership = new SiteOwnership({
    store: new PostgresSiteLeaseStore(deps.pg),
    worker: name,
    sites: deps.sites,
    ttlMs: config.cluster.leaseTtlMs,
    tickMs: config.cluster.leaseTickMs,
    letGo: async (sites): Promise<void> => {
      await consumers.settled();
      await deps.beforeRelease?.(sites);
    },
  });
  const consumers: SiteConsumers = new SiteConsumers({
    ownership,
    logger: log,
    ...(deps.prepare === undefined ? {} : { prepare: deps.prepare }),
    open: (site) =>
      new ExternalBroker({
        ...deps.broker,
        url: config.mqttUrl!,
        config: external,
        // The same id whichever worker holds the site: the next owner resumes the session the
        // broker kept queuing while nobody held it.
        session: { clientId: `${external.clientId}-${site}`.slice(0, 64), subscriptions: siteSubscriptions(site) },
      }),
  });
  ownership.on('acquired', (site, epoch) => log.info({ site, epoch }, 'site acquired'));
  ownership.on('lost', (site, why) => log.info({ site, why }, 'site given up'));
  ownership.on('tickFailed', (err) => log.warn({ err }, 'site leases not renewed (PostgreSQL): retrying'));
  return {
    name,
    ownership,
    consumers,
    start: () => ownership.start(),
    async stop() {
      await ownership.stop();
      await consumers.stop();
    },
  };
}
