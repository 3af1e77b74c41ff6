/**
 * The embedded MQTT broker (aedes) with StoreTwin's policy in its hooks:
 * - authenticate: either a user reading the alarm feed (username = the account, password = one
 *   of its API or session tokens, a client id that is no device's and no other account's), or
 *   a device: client id = username = a registered, enabled device id; password = its secret
 *   (scrypt hash in the registry; a verified secret is cached by hash so reconnect storms cost
 *   one hash each, not one scrypt each). Every wrong name or password answers CONNACK 4,
 *   whether the name is a user, a device or nothing, so names cannot be probed;
 * - authorizePublish: a device publishes only under its own storetwin/{site}/{device}/;
 *   device uplinks are handed to ingest HERE, because aedes writes a QoS 1 PUBACK before it
 *   calls broker.publish and the `published` hook (lib/handlers/publish.js). Waiting in this
 *   hook is the only way the PUBACK follows the durable commit, which is what QoS 1 promises
 *   the device;
 * - authorizeSubscribe: a device subscribes only to its own cmd topic; `$SYS/#`, `#` and
 *   everything else get SUBACK 0x80;
 * - a transport guard (packet-guard.ts) in front of every connection caps packet sizes and
 *   requires CONNECT first.
 * Every refusal is logged with its code and counted in /metrics.
 */
import net from 'node:net';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { Aedes, type AuthenticateError, type Client, type PublishPacket, type Subscription } from 'aedes';
import { WebSocketServer, createWebSocketStream } from 'ws';
import type { ConnectionGuard } from '../auth/connection-guard.ts';
import { can } from '../auth/roles.ts';
import { hashMachineSecret, isLegacyMachineHash, sha256Hex, verifySecret } from '../auth/secrets.ts';
import type { AuthenticatedToken, PublicUser } from '../auth/users.ts';
import type { Config } from '../config.ts';
import { StoreTwinError, type ErrorCode } from '../errors.ts';
import type { EventBus } from '../events.ts';
import type { Ingest } from '../ingest/ingest.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { DeviceRecord, Registry } from '../storage/types.ts';
import { GuardedConnection, type GuardViolation } from './packet-guard.ts';
import { parseDeviceTopic, topicHasInvalidCharacters, topics } from './topics.ts';

export interface BrokerDeps {
  config: Config['broker'];
  registry: Registry;
  /** Integrations log in as a user with an API token as the password (alarms feed only). */
  users?: { authenticateToken(token: string): AuthenticatedToken | null };
  /** Closes alarm-feed connections whose token was revoked or whose user changed. */
  guard?: ConnectionGuard;
  ingest: Ingest;
  bus: EventBus;
  logger: Logger;
  metrics: Metrics;
}

/** CONNACK return codes of MQTT 3.1.1 (3.2.2.3). */
const CONNACK = { IDENTIFIER_REJECTED: 2, BAD_USERNAME_OR_PASSWORD: 4, NOT_AUTHORIZED: 5 } as const;

/** aedes' own error messages → our codes, for refusals aedes makes before our hooks run. */
const AEDES_ERRORS: Array<[RegExp, ErrorCode]> = [
  [/connect did not arrive in time/, 'STW_ERR_MQTT_CONNECT_TIMEOUT'],
  [/Client queue limit reached/, 'STW_ERR_MQTT_QUEUE_EXCEEDED'],
  [/too many levels|not allowed in PUBLISH|empty topic|only allowed in/, 'STW_ERR_MQTT_TOPIC_INVALID'],
  [/unacceptable protocol version|Invalid protocol/, 'STW_ERR_MQTT_PROTOCOL_VERSION'],
  [/maxInflightInbound/, 'STW_ERR_MQTT_INFLIGHT_EXCEEDED'],
];

/** Errors that are ordinary endings of a connection, not refusals. */
const BENIGN = /connection closed|ECONNRESET|EPIPE|keep alive timeout|write after end/;

/** An error our hooks raise: already counted and logged where it was raised. */
class HookRefusal extends Error {
  constructor(readonly code: ErrorCode, message: string) {
    super(message);
  }
}

interface Session {
  device: DeviceRecord;
  /** QoS 1 uplinks of this client awaiting their durable commit. */
  inflight: number;
}

export class Broker {
  private aedes: Aedes | null = null;
  private tcp: net.Server | null = null;
  private ws: WebSocketServer | null = null;
  /**
   * Keyed by the aedes Client, not the device id: when a device reconnects before its old TCP
   * connection is gone (common on NB-IoT), aedes closes the old client *after* the new one
   * authenticated, and the old one's disconnect must not end the new session.
   */
  private readonly sessions = new Map<Client, Session>();
  /** device id → its current client. */
  private readonly current = new Map<string, Client>();
  /** Integration clients (users reading storetwin/{site}/alarms), with their untrack function. */
  private readonly integrations = new Map<Client, { user: PublicUser; untrack: () => void }>();
  /** client id → the integration client holding it. */
  private readonly integrationIds = new Map<string, Client>();
  /** device id → `${secretHash}:${sha256(password)}` of the last verified login. */
  private readonly verified = new Map<string, string>();
  private readonly log: Logger;

  constructor(private readonly deps: BrokerDeps) {
    this.log = deps.logger.child({ module: 'broker' });
  }

  async start(): Promise<void> {
    const { config } = this.deps;
    const aedes = await Aedes.createBroker({
      connectTimeout: config.connectTimeoutMs,
      maxTopicLevels: config.maxTopicLevels,
      queueLimit: config.queueLimit,
      keepaliveLimit: config.keepaliveLimitS,
      drainTimeout: config.drainTimeoutMs,
      // Devices never use QoS 2; keep the window small so half-open QoS 2 floods are cheap.
      maxInflightInbound: 16,
      // Client id = device id; ids are [a-z0-9-]{1,63}.
      maxClientsIdLength: 64,
      authenticate: (client, username, password, done) => void this.authenticate(client, username, password, done),
      authorizePublish: (client, packet, done) => void this.authorizePublish(client, packet, done),
      authorizeSubscribe: (client, sub, done) => this.authorizeSubscribe(client, sub, done),
    });
    aedes.on('client', () => this.deps.metrics.mqttConnections.inc());
    aedes.on('clientReady', (client) => this.onReady(client));
    aedes.on('clientDisconnect', (client) => this.onDisconnect(client));
    aedes.on('clientError', (client, err) => this.onError(client, err));
    aedes.on('connectionError', (client, err) => this.onError(client, err));
    this.aedes = aedes;

    this.deps.bus.on('device.updated', (d) => this.refresh(d.id));
    this.deps.bus.on('device.removed', (d) => this.refresh(d.id));
  }

  /** Opens the MQTT/TCP listener; port 0 picks a free port. */
  async listenTcp(port: number, host: string): Promise<net.AddressInfo> {
    const server = net.createServer((socket) => this.handle(socket));
    // A device sends tiny packets; Nagle would add up to 40 ms to every PUBACK.
    server.on('connection', (socket) => socket.setNoDelay(true));
    this.tcp = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return server.address() as net.AddressInfo;
  }

  /** Serves MQTT over WebSocket at `path` on an existing HTTP server. */
  attachWebSocket(http: HttpServer, path = '/mqtt'): void {
    // A WebSocket message carries at most one packet plus framing slack.
    const wss = new WebSocketServer({ noServer: true, maxPayload: this.deps.config.maxPacketBytes + 8 });
    this.ws = wss;
    http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      // Other upgrade listeners (socket.io) own their paths; touch only ours.
      if (new URL(req.url ?? '/', 'http://x').pathname !== path) return;
      wss.handleUpgrade(req, socket, head, (ws) => {
        this.handle(createWebSocketStream(ws), req);
      });
    });
  }

  /** Sends a command to a device on its cmd topic (QoS 1). */
  async sendCommand(site: string, device: string, command: Record<string, unknown>): Promise<void> {
    await this.publish(topics.cmd(site, device), Buffer.from(JSON.stringify(command)));
  }

  /** Publishes from the server itself (commands, alarm events); QoS 1, not retained. */
  async publish(topic: string, payload: Buffer): Promise<void> {
    const aedes = this.requireAedes();
    await new Promise<void>((resolve, reject) =>
      aedes.publish({ cmd: 'publish', topic, payload, qos: 1, retain: false, dup: false }, (err) => (err ? reject(err) : resolve())),
    );
  }

  isConnected(deviceId: string): boolean {
    return this.current.has(deviceId);
  }

  async stop(): Promise<void> {
    const closeServer = (s: { close(cb: () => void): unknown } | null) => new Promise<void>((r) => (s ? s.close(() => r()) : r()));
    this.ws?.clients.forEach((c) => c.terminate());
    await Promise.all([closeServer(this.tcp), closeServer(this.ws)]);
    if (this.aedes) await new Promise<void>((r) => this.aedes!.close(() => r()));
    this.aedes = null;
    this.sessions.clear();
    this.current.clear();
    this.integrations.clear();
    this.integrationIds.clear();
  }

  private handle(conn: Duplex, req?: IncomingMessage): void {
    const aedes = this.requireAedes();
    const guarded = new GuardedConnection(conn, this.deps.config, (v) => this.onViolation(conn, v));
    aedes.handle(guarded, req);
  }

  private onViolation(conn: Duplex, v: GuardViolation): void {
    const remote = (conn as Partial<net.Socket>).remoteAddress;
    this.refuse(v.code, v.message, { remote });
  }

  private async authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    done: (error: AuthenticateError | null, success: boolean | null) => void,
  ): Promise<void> {
    const deny = (code: ErrorCode, returnCode: number, message: string) => {
      this.refuse(code, message, { clientId: client.id, username });
      const err = new HookRefusal(code, message) as unknown as AuthenticateError;
      (err as { returnCode: number }).returnCode = returnCode;
      done(err, false);
    };
    try {
      if (!username || !password) return deny('STW_ERR_MQTT_BAD_CREDENTIALS', CONNACK.BAD_USERNAME_OR_PASSWORD, 'username and password are required');
      const secret = password.toString('utf8');
      // A user is recognised by its token, not by its name: a device registered under the same
      // name cannot lock the user out, and the user path costs one hash lookup.
      const asUser = this.deps.users?.authenticateToken(secret);
      if (asUser && asUser.user.username.toLowerCase() === username.toLowerCase()) return this.admitUser(client, asUser, secret, deny, done);

      const device = this.deps.registry.getDevice(username);
      // Unknown names, users with a wrong token and devices with a wrong secret all hear
      // "bad username or password" (4): nothing tells which names exist.
      if (!device) return deny('STW_ERR_MQTT_UNKNOWN_DEVICE', CONNACK.BAD_USERNAME_OR_PASSWORD, `no device "${username}" (or a wrong token for a user of that name)`);
      const fingerprint = `${device.secretHash}:${sha256Hex(secret)}`;
      if (this.verified.get(device.id) !== fingerprint) {
        if (!(await verifySecret(secret, device.secretHash))) {
          return deny('STW_ERR_MQTT_BAD_CREDENTIALS', CONNACK.BAD_USERNAME_OR_PASSWORD, `wrong secret for "${username}"`);
        }
        // A secret stored as scrypt (before device secrets were hashed with SHA-256) is re-hashed
        // now that we hold it: the next reconnect storm costs a digest per device, not scrypt.
        const secretHash = isLegacyMachineHash(device.secretHash) ? (this.deps.registry.updateDevice(device.id, { secretHash: hashMachineSecret(secret) })?.secretHash ?? device.secretHash) : device.secretHash;
        this.verified.set(device.id, `${secretHash}:${sha256Hex(secret)}`);
      }
      // Only the holder of the secret learns that the device is disabled or the id is wrong.
      if (!device.enabled) return deny('STW_ERR_MQTT_DEVICE_DISABLED', CONNACK.NOT_AUTHORIZED, `device "${username}" is disabled`);
      if (client.id !== username) {
        return deny('STW_ERR_MQTT_CLIENT_ID_MISMATCH', CONNACK.IDENTIFIER_REJECTED, `client id "${client.id}" is not the username`);
      }
      this.sessions.set(client, { device, inflight: 0 });
      this.deps.metrics.mqttAuthenticated.inc();
      done(null, true);
    } catch (err) {
      this.log.error({ err, clientId: client.id }, 'authentication failed unexpectedly');
      const e = new Error('server unavailable') as AuthenticateError;
      (e as { returnCode: number }).returnCode = 3;
      done(e, false);
    }
  }

  /**
   * A user reading the alarm feed. Its client id must not be a device's (aedes would drop the
   * device's connection for it: a takeover that knocks a camera offline) nor one held by
   * another account; the same account reconnecting takes its own id over as MQTT says.
   */
  private admitUser(
    client: Client,
    auth: AuthenticatedToken,
    token: string,
    deny: (code: ErrorCode, returnCode: number, message: string) => void,
    done: (error: AuthenticateError | null, success: boolean | null) => void,
  ): void {
    const { user } = auth;
    if (!can(user.role, 'alarms:read')) return deny('STW_ERR_MQTT_SUBSCRIBE_DENIED', CONNACK.NOT_AUTHORIZED, `role ${user.role} may not read alarms`);
    if (this.deps.registry.getDevice(client.id)) {
      return deny('STW_ERR_MQTT_CLIENT_ID_RESERVED', CONNACK.IDENTIFIER_REJECTED, `client id "${client.id}" is a device's id`);
    }
    const holder = this.integrationIds.get(client.id);
    if (holder && holder !== client && this.integrations.get(holder)?.user.id !== user.id) {
      return deny('STW_ERR_MQTT_CLIENT_ID_RESERVED', CONNACK.IDENTIFIER_REJECTED, `client id "${client.id}" is in use by another account`);
    }
    const untrack = this.deps.guard?.track(token, user, (reason) => {
      this.log.info({ user: user.username, clientId: client.id, reason }, 'alarm feed connection closed');
      client.close();
    });
    this.integrations.set(client, { user, untrack: untrack ?? (() => undefined) });
    this.integrationIds.set(client.id, client);
    this.deps.metrics.mqttAuthenticated.inc();
    done(null, true);
  }

  private async authorizePublish(client: Client | null, packet: PublishPacket, done: (error?: Error | null) => void): Promise<void> {
    const topic = packet.topic;
    if (topicHasInvalidCharacters(topic)) return done(this.hookRefusal('STW_ERR_MQTT_TOPIC_INVALID', 'topic holds NUL or invalid UTF-8', client));
    const parsed = parseDeviceTopic(topic);
    // client is null when aedes publishes the will of a client that is already gone.
    const session = client ? this.sessions.get(client) : undefined;
    const device = session?.device ?? (client === null && parsed ? this.deps.registry.getDevice(parsed.device) : null);
    if (!parsed || !device || parsed.kind === 'cmd' || parsed.site !== device.site || parsed.device !== device.id) {
      return done(this.hookRefusal('STW_ERR_MQTT_PUBLISH_DENIED', `may not publish to "${topic}"`, client));
    }
    if (session && session.inflight >= this.deps.config.maxInflightPerClient) {
      return done(this.hookRefusal('STW_ERR_MQTT_INFLIGHT_EXCEEDED', `more than ${this.deps.config.maxInflightPerClient} messages awaiting commit`, client));
    }
    // Events are stored by us, not kept by the broker: only status is retained (DESIGN.md).
    if (parsed.kind !== 'status') packet.retain = false;
    if (session) session.inflight++;
    try {
      const { ingest } = this.deps;
      if (parsed.kind === 'up') await ingest.acceptUplink(device, packet.payload as Buffer);
      else if (parsed.kind === 'status') await ingest.acceptStatusPayload(device, packet.payload as Buffer);
      else await ingest.acceptSnapshot(device, parsed.commandId, packet.payload as Buffer);
      done(null);
    } catch (err) {
      // Storage failed: no PUBACK, the connection closes and the device retransmits later.
      const code = err instanceof StoreTwinError ? err.code : 'STW_ERR_STORAGE_FAILED';
      this.log.error({ err, device: device.id }, 'uplink could not be stored');
      done(new HookRefusal(code, (err as Error).message));
    } finally {
      if (session) session.inflight--;
    }
  }

  private authorizeSubscribe(client: Client, sub: Subscription, done: (error: Error | null, subscription?: Subscription | null) => void): void {
    const user = this.integrations.get(client)?.user;
    if (user) {
      // storetwin/{site}/alarms for a site the user may see; storetwin/+/alarms for all-site users.
      const m = /^storetwin\/([a-z0-9-]+|\+)\/alarms$/.exec(sub.topic);
      const site = m?.[1];
      const allowed = site !== undefined && (site === '+' ? user.sites.length === 0 : user.sites.length === 0 || user.sites.includes(site));
      if (allowed) return done(null, sub);
      this.refuse('STW_ERR_MQTT_SUBSCRIBE_DENIED', `may not subscribe to "${sub.topic}"`, { user: user.username });
      return done(null, null);
    }
    const session = this.sessions.get(client);
    const parsed = topicHasInvalidCharacters(sub.topic) ? null : parseDeviceTopic(sub.topic);
    const own = session && parsed?.kind === 'cmd' && parsed.site === session.device.site && parsed.device === session.device.id;
    if (!own) {
      const code: ErrorCode = topicHasInvalidCharacters(sub.topic) ? 'STW_ERR_MQTT_TOPIC_INVALID' : 'STW_ERR_MQTT_SUBSCRIBE_DENIED';
      this.refuse(code, `may not subscribe to "${sub.topic}"`, { clientId: client.id });
      // A null subscription makes aedes answer SUBACK 0x80 (failure) and keep the session [MQTT-3.9.3].
      return done(null, null);
    }
    done(null, sub);
  }

  private onReady(client: Client): void {
    const session = this.sessions.get(client);
    if (!session) return;
    this.current.set(session.device.id, client);
    void this.deps.ingest.acceptPresence(session.device, true);
  }

  private onDisconnect(client: Client): void {
    this.deps.metrics.mqttConnections.dec();
    this.integrations.get(client)?.untrack();
    this.integrations.delete(client);
    if (this.integrationIds.get(client.id) === client) this.integrationIds.delete(client.id);
    const session = this.sessions.get(client);
    if (!session) return;
    this.sessions.delete(client);
    // A device that already reconnected on a new connection is not offline.
    if (this.current.get(session.device.id) !== client) return;
    this.current.delete(session.device.id);
    void this.deps.ingest.acceptPresence(session.device, false);
  }

  private onError(client: Client | null, err: Error): void {
    if (err instanceof HookRefusal) return; // counted when raised
    const match = AEDES_ERRORS.find(([re]) => re.test(err.message));
    if (match) {
      this.refuse(match[1], err.message, { clientId: client?.id });
    } else if (!BENIGN.test(err.message) && !/bad user name|not authorized|identifier rejected/.test(err.message)) {
      this.refuse('STW_ERR_MQTT_CONNECTION_ERROR', err.message, { clientId: client?.id });
    }
  }

  private hookRefusal(code: ErrorCode, message: string, client: Client | null): HookRefusal {
    this.refuse(code, message, { clientId: client?.id });
    return new HookRefusal(code, message);
  }

  private refuse(code: ErrorCode, message: string, context: Record<string, unknown>): void {
    this.deps.metrics.refuse(code, 'mqtt');
    this.log.warn({ code, ...context }, message);
  }

  /**
   * After a registry change: forget cached credentials, and disconnect a connected device
   * that was removed, disabled or given a new secret; otherwise refresh its record (zone…).
   */
  private refresh(deviceId: string): void {
    this.verified.delete(deviceId);
    const client = this.current.get(deviceId);
    const session = client && this.sessions.get(client);
    if (!client || !session) return;
    const record = this.deps.registry.getDevice(deviceId);
    if (record && record.enabled && record.secretHash === session.device.secretHash) {
      session.device = record;
      return;
    }
    client.close();
  }

  private requireAedes(): Aedes {
    if (!this.aedes) throw new Error('broker not started');
    return this.aedes;
  }
}
