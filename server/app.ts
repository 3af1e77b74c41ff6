/**
 * The composition root. createApp(config) builds every feature from a validated config —
 * constructors only store what they are given — and App.listen() opens the ports and starts
 * them in data-flow order (storage → ingest → twin → broker → HTTP). Tests build an app on
 * port 0 and read the chosen ports back from `addresses`.
 */
import { mkdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createHttpApp } from './api/app.ts';
import { UserService } from './auth/users.ts';
import { ensureSetupToken } from './auth/setup.ts';
import { Broker } from './broker/broker.ts';
import type { Config } from './config.ts';
import { REPO_ROOT } from './config.ts';
import { StoreTwinError } from './errors.ts';
import { EventBus } from './events.ts';
import { Ingest } from './ingest/ingest.ts';
import { createLogger, type Logger } from './observability/logger.ts';
import { Metrics } from './observability/metrics.ts';
import { DeviceService } from './registry/devices.ts';
import { SiteCatalog } from './sites/catalog.ts';
import { openSqliteStorage } from './storage/sqlite/index.ts';
import { Twin } from './twin/twin.ts';

export interface Addresses {
  http: AddressInfo;
  mqtt: AddressInfo;
  /** mqtt://host:port for clients on this machine. */
  mqttUrl: string;
  httpUrl: string;
}

export interface App {
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly bus: EventBus;
  readonly sites: SiteCatalog;
  readonly storage: ReturnType<typeof openSqliteStorage>;
  readonly devices: DeviceService;
  readonly users: UserService;
  readonly twin: Twin;
  readonly ingest: Ingest;
  readonly broker: Broker;
  /** Set by listen(). */
  addresses: Addresses | null;
  /** A one-time token for creating the first admin, when no user exists yet. */
  setupToken: string | null;
  listen(): Promise<Addresses>;
  stop(): Promise<void>;
}

/** Site directories: the user's own (<dataDir>/sites), any given, and with the demo the shipped ones. */
export function siteDirs(config: Config): string[] {
  const dirs = [path.join(config.dataDir, 'sites'), ...config.sitesDirs];
  if (config.demo) dirs.push(path.join(REPO_ROOT, 'sites'));
  return [...new Set(dirs.map((d) => path.resolve(d)))];
}

export async function createApp(config: Config, opts: { logger?: Logger } = {}): Promise<App> {
  if (config.mqttUrl) {
    throw new StoreTwinError('STW_ERR_CONFIG_INVALID', 'STORETWIN_MQTT_URL (external broker) is not supported yet; unset it to use the embedded broker');
  }
  const logger = opts.logger ?? createLogger({ level: config.logLevel });
  mkdirSync(path.join(config.dataDir, 'sites'), { recursive: true });
  const metrics = new Metrics();
  const bus = new EventBus();
  bus.onListenerError = (err, event) => logger.error({ err, event }, 'event listener failed');
  const sites = await SiteCatalog.load(siteDirs(config));
  const storage = openSqliteStorage(path.join(config.dataDir, 'storetwin.db'));
  const registry = storage.registry;
  const devices = new DeviceService({ registry, sites, bus });
  const users = new UserService({ registry, sessionTtlMs: config.auth.sessionTtlHours * 3600_000 });
  const ingest = new Ingest({
    config: { ...config.ingest, maxEventBytes: config.broker.maxEventBytes },
    events: storage.events,
    bus,
    logger,
    metrics,
  });
  const twin = new Twin({ sites, registry, bus, logger });
  const broker = new Broker({ config: config.broker, registry, ingest, bus, logger, metrics });
  let ready = false;
  const httpApp = createHttpApp({
    registry,
    events: storage.events,
    sites,
    twin,
    devices,
    users,
    metrics,
    logger,
    ready: () => ready,
  });
  const httpServer = http.createServer(httpApp);

  const app: App = {
    config,
    logger,
    metrics,
    bus,
    sites,
    storage,
    devices,
    users,
    twin,
    ingest,
    broker,
    addresses: null,
    setupToken: null,

    async listen() {
      await storage.events.start();
      await ingest.start();
      twin.start();
      await broker.start();
      const mqtt = await broker.listenTcp(config.mqttPort, config.host);
      broker.attachWebSocket(httpServer, '/mqtt');
      await new Promise<void>((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(config.httpPort, config.host, () => resolve());
      });
      const httpAddr = httpServer.address() as AddressInfo;
      const local = (a: AddressInfo) => (a.address === '0.0.0.0' || a.address === '::' ? '127.0.0.1' : a.address);
      app.addresses = {
        http: httpAddr,
        mqtt,
        mqttUrl: `mqtt://${local(mqtt)}:${mqtt.port}`,
        httpUrl: `http://${local(httpAddr)}:${httpAddr.port}`,
      };
      app.setupToken = await ensureSetupToken(registry);
      ready = true;
      logger.info({ http: app.addresses.httpUrl, mqtt: app.addresses.mqttUrl }, 'StoreTwin listening');
      return app.addresses;
    },

    async stop() {
      ready = false;
      // Stop taking new data first, then drain what is in flight, then close storage.
      await new Promise<void>((resolve) => {
        httpServer.close(() => resolve());
        httpServer.closeAllConnections();
      });
      await broker.stop();
      await ingest.stop();
      twin.stop();
      await storage.events.stop();
      storage.close();
    },
  };
  return app;
}
