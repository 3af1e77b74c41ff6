/**
 * The composition root. createApp(config) builds every feature from a validated config —
 * constructors only store what they are given — and App.listen() opens the ports and starts
 * them in data-flow order (storage → ingest → twin → broker → HTTP). Tests build an app on
 * port 0 and read the chosen ports back from `addresses`.
 *
 * MQTT is one MqttGateway: the embedded aedes broker, or with `mqttUrl` a client of an external
 * broker (server/broker/external/), with Mosquitto's files kept from the registry when
 * configured. Either way the EMQX auth endpoints are mounted (404 until given their secret).
 */
import { openSqliteStorage } from './sqlite-storage.ts';
import { createAccountStore, createAlarmStore, createArmingStore, createAuditStore, createBrokerPasswordStore, createDeviceStore, createIntegrationStore, createOutbox, createRuleDefinitionStore, createRuleTimerStore, createSettingsStore, createTwinStore, createSnapshotRowStore } from './stores.ts';
import http from 'node:http';
import type { Express } from 'express';
import { isIPv6, type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { AlarmService } from './alarms/service.ts';

import { createHttpApp, originPolicy } from './api/app.ts';
import { alarmRoutes } from './api/routes/alarms.ts';
import { auditRoutes } from './api/routes/audit.ts';
import { armingRoutes } from './api/routes/arming.ts';
import { dashboardRoutes } from './api/routes/dashboard.ts';
import { deliveryRoutes } from './api/routes/deliveries.ts';
import { notifyRoutes } from './api/routes/notify.ts';
import { footfallRoutes } from './api/routes/footfall.ts';
import { historyRoutes } from './api/routes/history.ts';
import { ingestRoutes, integrationRoutes } from './api/routes/integrations.ts';
import { kpiRoutes } from './api/routes/kpis.ts';
import { overviewRoutes } from './api/routes/overview.ts';
import { ruleRoutes } from './api/routes/rules.ts';
import { snapshotRoutes } from './api/routes/snapshots.ts';
import { ArmingScheduleWatch, ArmingService, MaintenanceService } from './arming/index.ts';

import type { AuditStore } from './audit/types.ts';
import { systemClock, type Clock } from './clock.ts';
import { prepareDataDir } from './data-dir.ts';
import { ResponseKpis } from './kpis/service.ts';
import { ChainOverview } from './overview/index.ts';
import { SnapshotLinker, SnapshotStore } from './linkage/index.ts';
import { LiveFeed } from './live/index.ts';
import { openRedisFanout } from './live/redis-fanout.ts';
import { EmailChannel } from './notify/channels/email.ts';
import { WebhookChannel } from './notify/channels/webhook.ts';
import { NotifyConfigFile } from './notify/config-file.ts';
import { Escalator } from './notify/escalation.ts';
import { type Outbox } from './notify/outbox-store.ts';
import { RoutePlanner } from './notify/planner.ts';
import { RouteTester } from './notify/test-send.ts';
import { DeliveryWorker } from './notify/worker.ts';
import { RuleEngine } from './rules/engine.ts';

import { RuleStore } from './rules/store.ts';

import { ReadWorker } from './reads/worker.ts';
import { ConnectionGuard } from './auth/connection-guard.ts';
import { UserService } from './auth/users.ts';
import { ensureSetupToken } from './auth/setup.ts';
import { Broker } from './broker/broker.ts';
import { ExternalBroker } from './broker/external/client.ts';
import { encodeRelay } from './broker/relay.ts';
import { topics } from './broker/topics.ts';
import { EmqxAuth } from './broker/external/emqx.ts';
import { MosquittoSync } from './broker/external/mosquitto-sync.ts';

import { DeviceDirectory } from './registry/directory.ts';

import type { MqttGateway } from './broker/gateway.ts';
import { BrokerLogin } from './broker/login.ts';
import { brokerRoutes } from './api/routes/broker.ts';
import type { Config } from './config.ts';
import { REPO_ROOT } from './config.ts';
import { EventBus } from './events.ts';
import { Ingest } from './ingest/ingest.ts';
import { IntegrationService } from './integrations/service.ts';

import { createLogger, type Logger } from './observability/logger.ts';
import { Metrics } from './observability/metrics.ts';
import { DeviceService } from './registry/devices.ts';
import { SiteCatalog } from './sites/catalog.ts';
import { eventStoreSpec, openEventStore } from './storage/event-store-factory.ts';
import type { EventStore, NewEvent } from './storage/types.ts';

import { openBackend } from './backend.ts';
import { createSiteWorker, defaultWorkerName, type SiteWorker } from './cluster/worker.ts';
import { storeChanges } from './storage/postgres/changes.ts';
import type { StorageBackend } from './storage/backend.ts';
import { Twin } from './twin/twin.ts';

export interface Addresses {
  http: AddressInfo;
  /** The embedded broker's listener; with an external broker, its host and port. */
  mqtt: AddressInfo;
  /** mqtt://host:port for clients on this machine; with an external broker its URL, without credentials. */
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
  /** Where the transactional stores live: this SQLite file, or PostgreSQL (STORETWIN_DATABASE_URL). */
  readonly backend: StorageBackend;
  /** Where events are kept: InfluxDB with STORETWIN_INFLUX_URL, else `storage.events`. */
  readonly events: EventStore;
  readonly devices: DeviceService;
  /** Every device in memory: what the broker, ingest and the twin read (server/registry/directory.ts). */
  readonly directory: DeviceDirectory;
  readonly users: UserService;
  readonly audit: AuditStore;
  readonly twin: Twin;
  readonly ingest: Ingest;
  readonly broker: MqttGateway;
  /** Mosquitto's password and ACL files, when StoreTwin keeps them (broker.external.mosquitto). */
  readonly mosquitto: MosquittoSync | null;
  readonly integrations: IntegrationService;
  readonly clock: Clock;
  readonly arming: ArmingService;
  readonly maintenance: MaintenanceService;
  readonly rules: RuleStore;
  readonly ruleEngine: RuleEngine;
  readonly alarms: AlarmService;
  readonly outbox: Outbox;
  readonly deliveries: DeliveryWorker;
  readonly snapshots: SnapshotStore;
  readonly live: LiveFeed;
  /** The HTTP API's Express app (tests walk its router: tests/api/openapi.test.ts). */
  readonly httpApp: Express;
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

/** Rule directories: the shipped rules (built-in rules for every site, demo rules) and <dataDir>/rules. */
export function ruleDirs(config: Config): string[] {
  return [path.join(REPO_ROOT, 'rules'), path.join(config.dataDir, 'rules')];
}

export async function createApp(config: Config, opts: { logger?: Logger; clock?: Clock } = {}): Promise<App> {
  const logger = opts.logger ?? createLogger({ level: config.logLevel });
  prepareDataDir(config);
  const clock = opts.clock ?? systemClock;
  const metrics = new Metrics();
  const bus = new EventBus();
  bus.onListenerError = (err, event) => logger.error({ err, event }, 'event listener failed');
  const sites = await SiteCatalog.load(siteDirs(config));
  // Events in InfluxDB when an influx URL is set, else in the SQLite file with everything else.
  const eventSpec = eventStoreSpec(config.influxUrl, config.influx);
  const storage = openSqliteStorage(path.join(config.dataDir, 'storetwin.db'), { eventWriterThread: config.ingest.writerThread && eventSpec.kind === 'sqlite' });
  const events = openEventStore(eventSpec, () => storage.events);
  // Devices, accounts, settings, twin snapshots and Mosquitto password lines, on the storage backend.
  // Everything transactional: PostgreSQL when STORETWIN_DATABASE_URL is set (opened and migrated
  // here), else the same SQLite file.
  const opened = await openBackend(config.databaseUrl, storage.db);
  const backend = opened.backend;
  // Several workers on one PostgreSQL: what one writes (rules, arming, integrations) reaches the
  // others' in-memory views through LISTEN/NOTIFY.
  const changes = backend.kind === 'postgres' ? storeChanges(backend.pg) : null;
  await changes?.start({ logger: logger.child({ module: 'storage.changes' }) });
  // One worker of several (--worker): the sites this one holds, by lease (server/cluster).
  const workerName = config.cluster.workerName ?? defaultWorkerName(os.hostname(), process.pid);
  const registryBackend = backend;
  const deviceStore = createDeviceStore(registryBackend);
  const accounts = createAccountStore(registryBackend);
  const settings = createSettingsStore(registryBackend);
  // The devices in memory for the hot paths (a CONNECT, a PUBLISH, the twin): loaded once here,
  // kept fresh by DeviceService and by following the store's version (the CLI writes too).
  const directory = new DeviceDirectory(deviceStore);
  await directory.load();
  const registry = directory;
  // Backtests and replay histories run in a thread of their own, off the event loop ingest needs.
  const reads = new ReadWorker({ dbFile: storage.db.name, events: eventSpec, logLevel: config.logLevel, logger: logger.child({ module: 'reads' }) });
  // Every device secret and API token issued leaves its Mosquitto password line here (written
  // by the device and account stores with what it belongs to).
  const brokerPasswords = createBrokerPasswordStore(registryBackend);
  const devices = new DeviceService({ store: deviceStore, directory, accounts, sites, bus });
  const users = new UserService({ accounts, devices: directory, sessionTtlMs: config.auth.sessionTtlHours * 3600_000 });
  const ingest = new Ingest({
    config: { ...config.ingest, maxEventBytes: config.broker.maxEventBytes },
    events,
    bus,
    logger,
    metrics,
    // A push or presence webhook for a site another worker holds: stored here, then handed to it.
    ...(config.cluster.worker
      ? { relay: { holds: (site: string) => siteWorker?.ownership.owns(site) ?? true, send: (site: string, batch: readonly NewEvent[]) => broker.publish(topics.relay(site), encodeRelay(batch)) } }
      : {}),
  });
  const siteWorker: SiteWorker | null =
    config.cluster.worker && backend.kind === 'postgres'
      ? createSiteWorker(
          {
            config,
            pg: backend.pg,
            broker: { directory, ingest, isOnline: (id): boolean => twin.deviceState(id)?.online === true, logger, metrics },
            sites: () => sites.list().map((s) => s.id),
            logger,
            // Before a site's first message: the stored events' seqs (so that what the previous
            // holder stored but had not acknowledged is dropped when the broker sends it again),
            // its live alarms and its twin.
            prepare: async (site) => {
              // Devices registered through another worker are read first, or their state and seqs would be skipped.
              await directory.refresh();
              await ingest.restoreDedupe(new Set(directory.allDevices().filter((d) => d.site === site).map((d) => d.id)));
              await alarms.refreshSites([site]);
              await twin.reloadSite(site);
            },
            // What this worker holds of a site it lets go is written before the next owner reads it.
            beforeRelease: async (released) => {
              await ruleEngine.flushed();
              await twin.flushed(released);
              await integrations.flush();
            },
          },
          workerName,
        )
      : null;
  const twin: Twin = new Twin({ sites, registry, store: createTwinStore(registryBackend), settings, bus, logger, ...(siteWorker ? { owner: siteWorker.ownership } : {}) });
  // Live connections opened with a user's token (socket.io, the MQTT alarm feed) end within
  // half a second of the token being revoked or the user changed.
  const guard = new ConnectionGuard({ users });
  const serverAccount = config.mqttUrl ? accountOf(config.mqttUrl) : null;
  const embedded = config.mqttUrl ? null : new Broker({ config: config.broker, directory, rehash: (id, hash) => devices.rehashSecret(id, hash), users, guard, ingest, bus, logger, metrics });
  const broker: MqttGateway =
    embedded ??
    new ExternalBroker({
      url: config.mqttUrl!,
      config: config.broker.external,
      directory,
      ingest,
      // Presence is what the device last said (status, last will): the twin records it.
      isOnline: (id) => twin.deviceState(id)?.online === true,
      logger,
      metrics,
      // A worker's own session only publishes: each site it holds is read by a session of its own.
      ...(config.cluster.worker ? { session: { clientId: `${config.broker.external.clientId}-${workerName}`.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64), subscriptions: [] } } : {}),
    });
  const mosquitto =
    config.mqttUrl && config.broker.external.mosquitto && serverAccount
      ? new MosquittoSync({ files: config.broker.external.mosquitto, serverAccount, directory, accounts, passwords: brokerPasswords, bus, logger, metrics })
      : null;
  const emqx = new EmqxAuth({ login: new BrokerLogin({ directory, rehash: (id, hash) => devices.rehashSecret(id, hash), users, serverAccount, logger }), directory, accounts, serverUsername: serverAccount?.username, ingest, logger, metrics });
  // People's actions, recorded by the API's route handlers (and the CLI's admin commands).
  const audit = createAuditStore(backend, () => clock.now());
  // Arming overrides and maintenance windows: both services keep what the rules and alarms ask in memory.
  const armingStore = createArmingStore(backend);
  const arming = new ArmingService({ store: armingStore, sites, bus, clock, onError: (err) => logger.warn({ err }, 'arming changes from another worker not re-read yet; retrying') });
  // Windows opening and closing, overrides lapsing: announced like changes by hand.
  const armingWatch = new ArmingScheduleWatch({ sites, arming, bus, clock, owns: (site) => siteWorker?.ownership.owns(site) ?? true });
  const maintenance = new MaintenanceService({ store: armingStore, sites, registry, clock, onError: (err) => logger.warn({ err }, 'maintenance windows from another worker not re-read yet; retrying') });
  const rules = new RuleStore({ definitions: createRuleDefinitionStore(backend), dirs: ruleDirs(config), logger, now: () => clock.now() });
  const ruleEngine = new RuleEngine({ bus, clock, twin, arming, sites, rules, timers: createRuleTimerStore(backend), logger, ...(siteWorker ? { owner: siteWorker.ownership } : {}) });
  // notify.yaml, watched: a valid edit reaches the planner, channels and escalator (onChange below).
  const notifyFile = await NotifyConfigFile.load({ dataDir: config.dataDir, logger });
  const notifyConfig = notifyFile.current;
  // Alarms, their history and the outbox commit together: one store, one database.
  const alarmStore = createAlarmStore(backend);
  const outbox = createOutbox(backend, () => clock.now());
  const planner = new RoutePlanner({
    config: notifyConfig,
    timezoneOf: (site) => sites.get(site)?.timezone,
    publicUrl: config.publicUrl,
    sites,
  });
  const alarms = new AlarmService({
    store: alarmStore,
    planner,
    bus,
    clock,
    maintenance,
    metrics,
    logger,
    publish: (topic, payload) => void broker.publish(topic, payload).catch((err) => logger.warn({ err, topic }, 'alarm event not published')),
  });
  const webhookChannel = new WebhookChannel({ config: notifyConfig, timeoutMs: config.notify.webhookTimeoutMs });
  const emailChannel = new EmailChannel({ config: notifyConfig });
  const deliveries = new DeliveryWorker({
    outbox,
    channels: {
      webhook: webhookChannel,
      email: emailChannel,
    },
    leaseMs: config.notify.leaseMs,
    clock,
    bus,
    metrics,
    logger,
  });
  const escalator = new Escalator({ alarms, config: notifyConfig, bus, clock, logger });
  notifyFile.onChange((next) => {
    planner.setConfig(next);
    webhookChannel.setConfig(next);
    emailChannel.setConfig(next);
    escalator.setConfig(next);
  });
  const routeTester = new RouteTester({
    config: () => notifyFile.current,
    webhook: webhookChannel,
    email: emailChannel,
    timezone: (site) => planner.timezone(site),
    siteName: (site) => sites.get(site)?.name,
    publicUrl: config.publicUrl,
    now: () => clock.now(),
  });
  const snapshots = new SnapshotStore({ rows: createSnapshotRowStore(backend), dataDir: config.dataDir, clock, onError: (err) => logger.warn({ err }, 'snapshot retention sweep failed') });
  // Devices heard through a platform or device system (server/integrations): their pushes,
  // connectors, and snapshots for cameras that are not on our broker.
  const integrations = new IntegrationService({
    store: createIntegrationStore(backend, () => clock.now()),
    registry,
    ingest,
    sites,
    alarmOf: (id) => alarms.get(id),
    bus,
    metrics,
    logger,
    clock,
    config: config.integrations,
    ...(siteWorker ? { owner: siteWorker.ownership } : {}),
  });
  const linker = new SnapshotLinker({
    bus,
    alarms,
    sites,
    registry,
    // A camera heard through an integration (Frigate, Hikvision) answers through it.
    sendCommand: (site, device, command) => (integrations.hears(device) ? integrations.command(site, device, command) : broker.sendCommand(site, device, command)),
    store: snapshots,
    isOnline: (device) => broker.isConnected(device) || integrations.hears(device),
    clock,
    logger,
  });
  // Every site in one table (GET /api/overview): footfall from its own rollup of the counters' minutes.
  const overview = new ChainOverview({ sites, registry, twin, events, bus, alarms, kpis: new ResponseKpis({ alarms: alarmStore, targets: config.kpis.targets, now: () => clock.now() }), logger: logger.child({ module: 'overview' }), now: () => clock.now() });
  const apiOptions = { trustProxy: config.http.trustProxy, allowedOrigins: config.http.allowedOrigins };
  // Several workers: what one emits to a site's room reaches that room's sockets on every worker.
  const fanout = config.redisUrl === undefined ? null : await openRedisFanout(config.redisUrl);
  const live = new LiveFeed({ bus, users, guard, origins: originPolicy(apiOptions), sites, clock, logger, ...(fanout === null ? {} : { adapter: fanout.adapter }) });
  let ready = false;
  const httpApp = createHttpApp({
    registry,
    accounts,
    settings,
    events,
    sites,
    twin,
    devices,
    users,
    audit,
    metrics,
    logger,
    ready: () => ready,
    options: apiOptions,
    routes: [
      ingestRoutes({ integrations, maxPushBytes: config.integrations.maxPushBytes }),
      brokerRoutes({ emqx, secret: config.broker.external.authSecret }),
      integrationRoutes({ integrations, maxPushBytes: config.integrations.maxPushBytes, publicUrl: config.publicUrl }),
      alarmRoutes(alarms),
      auditRoutes({ audit }),
      ruleRoutes({ rules, limits: config.limits, reads }),
      deliveryRoutes(outbox, { nudge: () => deliveries.nudge() }),
      notifyRoutes({ file: notifyFile, tester: routeTester }),
      armingRoutes({ arming, maintenance }),
      snapshotRoutes({ store: snapshots }),
      historyRoutes({ alarms: alarmStore, now: () => clock.now(), maxEvents: config.limits.historyMaxEvents, reads }),
      footfallRoutes({ now: () => clock.now() }),
      overviewRoutes({ overview }),
      kpiRoutes({ kpis: new ResponseKpis({ alarms: alarmStore, targets: config.kpis.targets, now: () => clock.now() }), now: () => clock.now() }),
      dashboardRoutes({ distDir: path.join(REPO_ROOT, 'dashboard', 'dist') }),
    ],
  });
  const httpServer = http.createServer(httpApp);

  const app: App = {
    config,
    logger,
    metrics,
    bus,
    sites,
    storage,
    backend,
    events,
    devices,
    directory,
    users,
    audit,
    twin,
    ingest,
    broker,
    mosquitto,
    integrations,
    clock,
    arming,
    maintenance,
    rules,
    ruleEngine,
    alarms,
    outbox,
    deliveries,
    snapshots,
    live,
    httpApp,
    addresses: null,
    setupToken: null,

    async listen() {
      await events.start();
      await ingest.start();
      await twin.start();
      await directory.start();
      // Downstream of the twin: rules → alarms → (notifications, linkage, live).
      await arming.start();
      await maintenance.start();
      await rules.start();
      await alarms.start();
      await ruleEngine.start();
      armingWatch.start();
      deliveries.start();
      await escalator.start();
      notifyFile.start({ publicUrl: config.publicUrl });
      snapshots.start();
      linker.start();
      await integrations.start();
      overview.start();
      let mqtt: AddressInfo;
      if (embedded) {
        await embedded.start();
        mqtt = await embedded.listenTcp(config.mqttPort, config.host);
        embedded.attachWebSocket(httpServer, '/mqtt');
      } else {
        // The files first: the broker must know StoreTwin's own account before it logs in.
        await mosquitto?.start();
        await broker.start();
        mqtt = externalAddress(config.mqttUrl!);
        // A worker takes its share of the sites now that everything downstream listens.
        await siteWorker?.start();
      }
      live.start(httpServer);
      guard.start();
      await new Promise<void>((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(config.httpPort, config.host, () => resolve());
      });
      const httpAddr = httpServer.address() as AddressInfo;
      const local = (a: AddressInfo) => (a.address === '0.0.0.0' || a.address === '::' ? '127.0.0.1' : a.address);
      app.addresses = {
        http: httpAddr,
        mqtt,
        mqttUrl: embedded ? `mqtt://${local(mqtt)}:${mqtt.port}` : withoutCredentials(config.mqttUrl!),
        httpUrl: `http://${local(httpAddr)}:${httpAddr.port}`,
      };
      app.setupToken = await ensureSetupToken({ users, settings });
      ready = true;
      logger.info({ http: app.addresses.httpUrl, mqtt: app.addresses.mqttUrl, broker: broker.kind }, 'StoreTwin listening');
      return app.addresses;
    },

    async stop() {
      ready = false;
      // Stop taking new data first, then drain what is in flight, then close storage.
      guard.stop();
      // A worker hands its sites over first: the others take them on their next tick.
      await siteWorker?.stop();
      await live.stop();
      await fanout?.close();
      await new Promise<void>((resolve) => {
        httpServer.close(() => resolve());
        httpServer.closeAllConnections();
      });
      await broker.stop();
      await mosquitto?.stop();
      await integrations.stop();
      await ingest.stop();
      await overview.stop();
      linker.stop();
      snapshots.stop();
      notifyFile.stop();
      escalator.stop();
      await deliveries.stop();
      armingWatch.stop();
      arming.stop();
      maintenance.stop();
      await ruleEngine.stop();
      await alarms.stop();
      rules.stop();
      await twin.stop();
      directory.stop();
      await reads.stop();
      await events.stop();
      await changes?.stop();
      await opened.close();
      storage.close();
    },
  };
  return app;
}

/** StoreTwin's own account on an external broker: the user and password of its URL. */
function accountOf(mqttUrl: string): { username: string; password: string } | null {
  const u = new URL(mqttUrl);
  return u.username ? { username: decodeURIComponent(u.username), password: decodeURIComponent(u.password) } : null;
}

/** An external broker's URL as devices and logs may see it: scheme, host and port only. */
function withoutCredentials(mqttUrl: string): string {
  const u = new URL(mqttUrl);
  return `${u.protocol}//${u.host}`;
}

function externalAddress(mqttUrl: string): AddressInfo {
  const u = new URL(mqttUrl);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  return { address: host, family: isIPv6(host) ? 'IPv6' : 'IPv4', port: u.port ? Number(u.port) : u.protocol === 'mqtts:' ? 8883 : 1883 };
}
