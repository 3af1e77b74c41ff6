/**
 * Configuration: defaults in one place, then an optional file, then environment variables,
 * then CLI flags — validated once at start with every problem reported together. The result
 * is injected into createApp(); nothing reads process.env after this.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { load as loadYaml } from 'js-yaml';
import { z } from 'zod';
import { StoreTwinError } from './errors.ts';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();

export const configSchema = z
  .object({
    host: z.string().min(1).default('0.0.0.0'),
    httpPort: port.default(8080),
    mqttPort: port.default(1883),
    dataDir: z.string().min(1).default('./data'),
    /** More directories with site files (YAML/JSON), besides <dataDir>/sites and, with the demo, the shipped ones. */
    sitesDirs: z.array(z.string().min(1)).default([]),
    /**
     * An external broker (Mosquitto, EMQX…) instead of the embedded one: mqtt://user:pass@host:1883
     * or mqtts://…; StoreTwin is then a client of it (README "An external MQTT broker").
     */
    mqttUrl: z
      .url({ protocol: /^mqtts?$/, error: 'must be an mqtt:// or mqtts:// URL' })
      .refine((u) => !/[?#]/.test(u), 'must have no query (?) or fragment (#)')
      .optional(),
    /**
     * Events in InfluxDB 1.x instead of SQLite: http://user:pass@host:8086/DB (the path names the
     * database; README "Time series in InfluxDB"). Everything else stays in SQLite.
     */
    influxUrl: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional(),
    /**
     * PostgreSQL for everything transactional (devices, accounts, alarms and their outbox, rules,
     * arming, audit…) instead of the SQLite file: postgres://user:pass@host:5432/DB. Several
     * workers can share it (README "Several workers").
     */
    databaseUrl: z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// or postgresql:// URL' }).optional(),
    /**
     * Redis for the live feed across workers: a dashboard connected to any worker gets every
     * alarm and twin change of its sites (redis://[:pass@]host:6379[/db]).
     */
    redisUrl: z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }).optional(),
    influx: z
      .object({
        /** Days raw points are kept: 0 = forever, else at least 31 (device times up to 30 days back are accepted). */
        rawRetentionDays: z.coerce
          .number()
          .int()
          .refine((d) => d === 0 || d >= 31, 'must be 0 (forever) or at least 31')
          .default(90),
        /** Days the footfall rollups are kept; 0 = forever. */
        rollupRetentionDays: z.coerce.number().int().min(0).default(0),
        /** When the URL carries no credentials. */
        username: z.string().min(1).optional(),
        password: z.string().optional(),
      })
      .prefault({}),
    /**
     * Where people reach this server (https://twin.example.com, a path prefix allowed): links in
     * notifications (the alarm on the dashboard, its picture) are made absolute with it. Unset:
     * links are relative, and the start-up log says so. No query, fragment or user name: it is
     * copied into every message.
     */
    publicUrl: z
      .url({ protocol: /^https?$/, error: 'must be an absolute http:// or https:// URL' })
      .refine((u) => !/[?#]/.test(u) && !/^https?:\/\/[^/]*@/i.test(u), 'must have no query (?), fragment (#) or user name')
      .transform((u) => u.replace(/\/+$/, ''))
      .optional(),
    /** Start the demo sites' simulators in-process. */
    demo: z.boolean().default(true),
    /** Simulated seconds per real second for the demo simulators. */
    demoSpeed: z.coerce.number().positive().max(3600).default(30),
    /** `off`: the demo sites and their registered devices without the in-process simulators (drive them yourself). */
    demoDevices: z.union([z.boolean(), z.enum(['on', 'off'], { error: 'must be on or off' })]).default('on').transform((v) => v === true || v === 'on'),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    http: z
      .object({
        /**
         * Express's `trust proxy`: off by default, because with it on anyone can claim any
         * client address in X-Forwarded-For. Behind a reverse proxy set the number of proxy
         * hops (1) or the proxy's addresses ("loopback", "10.0.0.0/8"), so login rate limits
         * count real client addresses instead of the proxy's one.
         */
        trustProxy: z
          .union([z.boolean(), z.number().int().min(0).max(10), z.string().min(1)])
          .transform((v) => (v === 'true' ? true : v === 'false' ? false : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v))
          .default(false),
        /** Origins besides this server's own that may send cookie-authenticated changes (server/api/origin.ts). */
        allowedOrigins: z.array(z.url().transform((u) => new URL(u).origin)).default([]),
      })
      .prefault({}),
    broker: z
      .object({
        /** CONNECT is unauthenticated: keep it small (client id, credentials, a small will). */
        maxConnectBytes: positiveInt.default(4 * 1024),
        /** Largest packet after CONNECT; camera snapshots are the big ones. */
        maxPacketBytes: positiveInt.default(1024 * 1024),
        /** Largest `up` event payload; events are ~100 bytes, frames ~30. */
        maxEventBytes: positiveInt.default(8 * 1024),
        connectTimeoutMs: positiveInt.default(10_000),
        /** Our topics have at most 5 levels (storetwin/site/device/snapshot/id). */
        maxTopicLevels: positiveInt.max(100).default(8),
        /** QoS 1 publishes from one client awaiting their durable commit. */
        maxInflightPerClient: positiveInt.default(500),
        /** Packets aedes queues before a session is established. */
        queueLimit: positiveInt.default(42),
        keepaliveLimitS: positiveInt.default(3 * 3600),
        /** A device may be parked in NB-IoT PSM for hours; a slow socket is given this long to drain. */
        drainTimeoutMs: positiveInt.default(30_000),
        /** An external broker (mqttUrl) and the parts of it StoreTwin manages (README "An external MQTT broker"). */
        external: z
          .strictObject({
            /** StoreTwin's client id there: its persistent session (clean=false) is kept under it. */
            clientId: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 letters, digits, ".", "_" or "-"').default('storetwin-server'),
            /** Start fails (STW_ERR_MQTT_EXTERNAL_UNREACHABLE) when the broker has not accepted us by then. */
            connectTimeoutMs: positiveInt.default(10_000),
            /** Wait between reconnection attempts once running. */
            reconnectPeriodMs: positiveInt.default(1_000),
            /** PEM file of the CA that signed an mqtts:// broker's certificate, when it is not a public one. */
            caFile: z.string().min(1).optional(),
            /**
             * Mosquitto: StoreTwin writes its password_file and acl_file from the registry and
             * sends SIGHUP to the pid in pidFile to have them reloaded.
             */
            mosquitto: z
              .strictObject({
                passwordFile: z.string().min(1),
                aclFile: z.string().min(1),
                pidFile: z.string().min(1).optional(),
              })
              .optional(),
            /**
             * EMQX: the shared secret its HTTP authenticator, authorizer and webhook send in the
             * `x-storetwin-broker-secret` header to /api/broker/*. Unset: those routes answer 404.
             */
            authSecret: z.string().min(16, 'must be at least 16 characters').optional(),
          })
          .prefault({}),
      })
      .prefault({}),
    ingest: z
      .object({
        /**
         * Group commit: flush when this many events wait, or `commitDelayMs` after the first. With
         * the writer thread, 0 batches by itself: what arrives during a commit is the next batch.
         */
        commitMaxEvents: positiveInt.default(1000),
        commitDelayMs: z.coerce.number().int().min(0).max(1000).default(0),
        /**
         * Commit event batches in a thread of their own, off the event loop
         * (server/storage/sqlite/event-writer.ts). Off only to measure what it is worth.
         */
        writerThread: z.boolean().default(true),
        /** How long a (device, seq) is remembered to drop retransmissions. */
        dedupeWindowS: positiveInt.default(3600),
        /**
         * Event rate budget of one device, by device type id, replacing that type's default
         * (`rateBudget` in devices/<type>.ts). A device over budget has its messages acknowledged
         * and dropped (STW_ERR_DEVICE_RATE_LIMITED), so one flooding device cannot fill the disk
         * or slow everyone's PUBACKs. Type ids are checked against the device catalogue when
         * ingest is built (server/ingest/rate-budget.ts).
         */
        rateBudgets: z
          .record(
            z.string(),
            z.strictObject({
              /** Sustained events per second. */
              perSecond: z.number().positive().finite(),
              /** Events at once after a quiet spell: the bucket's capacity. */
              burst: z.number().int().positive(),
            }),
          )
          .default({}),
      })
      .prefault({}),
    notify: z
      .object({
        /** A webhook receiver gets this long to answer. */
        webhookTimeoutMs: positiveInt.default(10_000),
        /** A delivery being sent is retried after this long if the process died mid-send; > webhookTimeoutMs. */
        leaseMs: positiveInt.default(30_000),
      })
      .refine((n) => n.leaseMs > n.webhookTimeoutMs, { message: 'leaseMs must exceed webhookTimeoutMs', path: ['leaseMs'] })
      .prefault({}),
    /** Response KPIs (README "Response KPIs"). */
    kpis: z
      .strictObject({
        /**
         * Seconds within which an alarm of each severity should be acknowledged: the share that
         * was is the "及时率". Security alarms need someone at once; a low battery can wait a day.
         */
        targets: z
          .strictObject({
            critical: positiveInt.default(120),
            major: positiveInt.default(600),
            minor: positiveInt.default(3600),
            warning: positiveInt.default(3600),
            info: positiveInt.default(86_400),
          })
          .prefault({}),
      })
      .prefault({}),
    auth: z
      .object({
        sessionTtlHours: positiveInt.default(12),
      })
      .prefault({}),
    /**
     * Long reads (backtests, replay history) run in short slices beside ingest; these bound how
     * much one request may read and how many run at once (README "Configuration").
     */
    limits: z
      .object({
        /** A backtest replays at most this many events; a month of a busy site is ~600k. */
        backtestMaxEvents: positiveInt.default(2_000_000),
        /** …and runs at most this long (wall time); either bound ends it with a partial answer. */
        backtestMaxSeconds: positiveInt.default(120),
        /** Backtests running at once on the server, and for one user (more: 429 STW_ERR_BUSY). */
        backtestsPerServer: positiveInt.default(1),
        backtestsPerUser: positiveInt.default(1),
        /** Events one replay history may read (lookback included), else 413 STW_ERR_QUERY_TOO_LARGE. */
        historyMaxEvents: positiveInt.default(500_000),
      })
      .prefault({}),
    /** Pushes from platforms and vendor devices, connectors (README "Integrations"). */
    integrations: z
      .object({
        /** Largest push body, bytes: a Hikvision alert with its picture is 100–500 kB. */
        maxPushBytes: positiveInt.default(2 * 1024 * 1024),
        /** Pushes one integration may send per second, and at once after a quiet spell. */
        pushRate: z.object({ perSecond: z.number().positive(), burst: positiveInt }).strict().default({ perSecond: 200, burst: 1000 }),
        /** How long a platform's retransmission key (CTWing upPacketSN…) is remembered, seconds. */
        dedupeWindowS: positiveInt.default(3600),
        /** A picture that came with a message serves as an alarm's snapshot for this long, seconds. */
        pictureMaxAgeS: positiveInt.default(60),
      })
      .strict()
      .prefault({}),
    /**
     * One of several identical workers (`storetwin serve --worker`, README "Several workers"):
     * no embedded broker, no demo; the sites are shared among the live workers by leases in
     * PostgreSQL, each worker reading its own sites' messages from the broker cluster.
     */
    cluster: z
      .object({
        worker: z.boolean().default(false),
        /** This worker's name among the live ones (default host:pid). */
        workerName: z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, 'must be 1-64 letters, digits, ".", "_", ":" or "-"').optional(),
        /** How long a site's lease lasts unless renewed, ms: a dead worker's sites move on after at most this plus a tick. */
        leaseTtlMs: z.coerce.number().int().min(1000).default(6000),
        /** How often leases are renewed and the live workers read, ms (under half the lease). */
        leaseTickMs: z.coerce.number().int().min(100).default(2000),
      })
      .strict()
      .refine((c) => c.leaseTickMs * 2 < c.leaseTtlMs, { message: 'leaseTickMs must be under half of leaseTtlMs', path: ['leaseTickMs'] })
      .prefault({}),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.cluster.worker) {
      // A worker keeps nothing of its own: every other worker must see what it stores and pushes.
      const needs: Array<[keyof typeof c, string]> = [
        ['mqttUrl', 'STORETWIN_MQTT_URL: the broker cluster the devices connect to'],
        ['databaseUrl', 'STORETWIN_DATABASE_URL: PostgreSQL, shared by the workers'],
        ['influxUrl', 'STORETWIN_INFLUX_URL: InfluxDB for the events, shared by the workers'],
        ['redisUrl', 'STORETWIN_REDIS_URL: Redis for the live feed across workers'],
      ];
      for (const [key, what] of needs) if (c[key] === undefined) ctx.addIssue({ code: 'custom', path: [key], message: `a worker (--worker) needs ${what}` });
      if (c.demo) ctx.addIssue({ code: 'custom', path: ['demo'], message: 'a worker runs no demo: start it with --no-demo (STORETWIN_DEMO=0)' });
    }
    // Mosquitto's files hold StoreTwin's own account, made from the URL's user and password.
    if (c.broker.external.mosquitto && !(c.mqttUrl && new URL(c.mqttUrl).username && new URL(c.mqttUrl).password)) {
      ctx.addIssue({ code: 'custom', path: ['broker', 'external', 'mosquitto'], message: 'needs mqttUrl (STORETWIN_MQTT_URL) with a user name and password: StoreTwin writes its own account into the password file' });
    }
  });

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

const ENV_KEYS: Record<string, keyof ConfigInput> = {
  STORETWIN_HOST: 'host',
  STORETWIN_HTTP_PORT: 'httpPort',
  STORETWIN_MQTT_PORT: 'mqttPort',
  STORETWIN_DATA_DIR: 'dataDir',
  STORETWIN_MQTT_URL: 'mqttUrl',
  STORETWIN_INFLUX_URL: 'influxUrl',
  STORETWIN_DATABASE_URL: 'databaseUrl',
  STORETWIN_REDIS_URL: 'redisUrl',
  STORETWIN_PUBLIC_URL: 'publicUrl',
  STORETWIN_LOG_LEVEL: 'logLevel',
  STORETWIN_DEMO_SPEED: 'demoSpeed',
  STORETWIN_DEMO_DEVICES: 'demoDevices',
};

function fromEnv(env: NodeJS.ProcessEnv): Partial<Record<keyof ConfigInput, unknown>> {
  const out: Partial<Record<keyof ConfigInput, unknown>> = {};
  for (const [name, key] of Object.entries(ENV_KEYS)) {
    const value = env[name];
    if (value !== undefined && value !== '') out[key] = value;
  }
  const http: Record<string, unknown> = {};
  if (env.STORETWIN_TRUST_PROXY) http.trustProxy = env.STORETWIN_TRUST_PROXY;
  if (env.STORETWIN_ALLOWED_ORIGINS) http.allowedOrigins = env.STORETWIN_ALLOWED_ORIGINS.split(',').map((o) => o.trim()).filter(Boolean);
  if (Object.keys(http).length > 0) out.http = http;
  const external: Record<string, unknown> = {};
  if (env.STORETWIN_MQTT_CLIENT_ID) external.clientId = env.STORETWIN_MQTT_CLIENT_ID;
  if (env.STORETWIN_MQTT_CA_FILE) external.caFile = env.STORETWIN_MQTT_CA_FILE;
  if (env.STORETWIN_BROKER_AUTH_SECRET) external.authSecret = env.STORETWIN_BROKER_AUTH_SECRET;
  const mosquitto: Record<string, unknown> = {};
  if (env.STORETWIN_MOSQUITTO_PASSWORD_FILE) mosquitto.passwordFile = env.STORETWIN_MOSQUITTO_PASSWORD_FILE;
  if (env.STORETWIN_MOSQUITTO_ACL_FILE) mosquitto.aclFile = env.STORETWIN_MOSQUITTO_ACL_FILE;
  if (env.STORETWIN_MOSQUITTO_PID_FILE) mosquitto.pidFile = env.STORETWIN_MOSQUITTO_PID_FILE;
  if (Object.keys(mosquitto).length > 0) external.mosquitto = mosquitto;
  if (Object.keys(external).length > 0) out.broker = { external };
  const influx: Record<string, unknown> = {};
  if (env.STORETWIN_INFLUX_USERNAME) influx.username = env.STORETWIN_INFLUX_USERNAME;
  if (env.STORETWIN_INFLUX_PASSWORD) influx.password = env.STORETWIN_INFLUX_PASSWORD;
  if (env.STORETWIN_INFLUX_RETENTION_DAYS) influx.rawRetentionDays = env.STORETWIN_INFLUX_RETENTION_DAYS;
  if (Object.keys(influx).length > 0) out.influx = influx;
  if (env.STORETWIN_SITES_DIRS) out.sitesDirs = env.STORETWIN_SITES_DIRS.split(path.delimiter).filter(Boolean);
  if (env.STORETWIN_DEMO !== undefined) out.demo = !['0', 'false', 'no', 'off'].includes(env.STORETWIN_DEMO.toLowerCase());
  const cluster: Record<string, unknown> = {};
  if (env.STORETWIN_WORKER !== undefined) cluster.worker = ['1', 'true', 'yes', 'on'].includes(env.STORETWIN_WORKER.toLowerCase());
  if (env.STORETWIN_WORKER_NAME) cluster.workerName = env.STORETWIN_WORKER_NAME;
  if (env.STORETWIN_LEASE_TTL_MS) cluster.leaseTtlMs = env.STORETWIN_LEASE_TTL_MS;
  if (Object.keys(cluster).length > 0) out.cluster = cluster;
  // A worker runs no demo: STORETWIN_WORKER=1 alone is enough.
  if (cluster.worker === true && env.STORETWIN_DEMO === undefined) out.demo = false;
  return out;
}

function fromFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new StoreTwinError('STW_ERR_CONFIG_INVALID', `cannot read config file ${file}: ${(err as Error).message}`);
  }
  const parsed = file.endsWith('.json') ? JSON.parse(text) : loadYaml(text);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new StoreTwinError('STW_ERR_CONFIG_INVALID', `config file ${file} must hold an object`);
  }
  return parsed as Record<string, unknown>;
}

/** Builds the config from (lowest to highest precedence) defaults, file, environment, flags. */
export function loadConfig(opts: { file?: string; env?: NodeJS.ProcessEnv; flags?: Record<string, unknown> } = {}): Config {
  const layers = [
    opts.file ? fromFile(opts.file) : {},
    fromEnv(opts.env ?? {}),
    Object.fromEntries(Object.entries(opts.flags ?? {}).filter(([, v]) => v !== undefined)),
  ];
  let merged: Record<string, unknown> = {};
  for (const layer of layers) merged = mergeSections(merged, layer);
  return parseConfig(merged);
}

const isSection = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Sections (broker, broker.external, http…) merge key by key, however deep: an environment
 * variable for one key of a section must not drop the file's other keys of it.
 */
function mergeSections(below: Record<string, unknown>, above: Record<string, unknown>): Record<string, unknown> {
  const out = { ...below };
  for (const [key, value] of Object.entries(above)) {
    const under = out[key];
    out[key] = isSection(under) && isSection(value) ? mergeSections(under, value) : value;
  }
  return out;
}

export function parseConfig(input: unknown): Config {
  const result = configSchema.safeParse(input);
  if (!result.success) {
    throw new StoreTwinError('STW_ERR_CONFIG_INVALID', `invalid configuration:\n${z.prettifyError(result.error)}`, result.error.issues);
  }
  return result.data;
}
