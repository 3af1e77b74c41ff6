/**
 * The embedded MQTT broker (aedes) with StoreTwin's policy in its hooks:
 * - authenticate: who may log in is decided by login.ts (shared with EMQX's HTTP
 *   authenticator): a user reading the alarm feed with one of its tokens, or a device with its
 *   secret. Here only what is aedes' own: a client id held by another account is refused;
 * - authorizePublish: what a client may publish is policy.ts's (shared with EMQX and the
 *   Mosquitto ACL file): a device only under its own storetwin/{site}/{device}/;
 *   device uplinks are handed to ingest HERE, because aedes writes a QoS 1 PUBACK before it
 *   calls broker.publish and the `published` hook (lib/handlers/publish.js). Waiting in this
 *   hook is the only way the PUBACK follows the durable commit, which is what QoS 1 promises
 *   the device;
 * - authorizeSubscribe: policy.ts again (a device only its own cmd topic, a user its sites'
 *   alarm feeds); `$SYS/#`, `#` and everything else get SUBACK 0x80;
 * - a transport guard (packet-guard.ts) in front of every connection caps packet sizes and
 *   requires CONNECT first;
 * - presence: a device logging in again while its old connection is up (a reconnect, or another
 *   client taking the device over) stays online: the old connection's close publishes no will
 *   and records no offline. Device connections are reported to onDeviceConnection listeners,
 *   marked `local` when made in-process (connectInProcess: the demo's simulated devices).
 * Every refusal is logged with its code and counted in /metrics.
 */
import net from 'node:net';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { Aedes, type AuthenticateError, type Client, type PublishPacket, type Subscription } from 'aedes';
import { WebSocketServer, createWebSocketStream } from 'ws';
import type { ConnectionGuard } from '../auth/connection-guard.ts';
import type { AuthenticatedToken, PublicUser } from '../auth/users.ts';
import type { Config } from '../config.ts';
import { StoreTwinError, type ErrorCode } from '../errors.ts';
import type { EventBus } from '../events.ts';
import type { Ingest } from '../ingest/ingest.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { DeviceDirectory } from '../registry/directory.ts';
import type { DeviceRecord } from '../storage/types.ts';
import type { MqttGateway } from './gateway.ts';
import { BrokerLogin, CONNACK } from './login.ts';
import { inProcessPipe } from './in-process.ts';
import { GuardedConnection, type GuardViolation } from './packet-guard.ts';
import { publishRefusal, subscribeRefusal } from './policy.ts';
import { parseDeviceTopic, topicHasInvalidCharacters, topics, type DeviceTopic } from './topics.ts';

export interface BrokerDeps {
  config: Config['broker'];
  /** The devices, in memory: nothing per CONNECT or PUBLISH goes to the database. */
  directory: DeviceDirectory;
  /** Stores a legacy secret re-hashed at login (DeviceService.rehashSecret). */
  rehash?: (id: string, secretHash: string) => Promise<DeviceRecord | null>;
  /** Integrations log in as a user with an API token as the password (alarms feed only). */
  users?: { authenticateToken(token: string): Promise<AuthenticatedToken | null> };
  /** Closes alarm-feed connections whose token was revoked or whose user changed. */
  guard?: ConnectionGuard;
  ingest: Ingest;
  bus: EventBus;
  logger: Logger;
  metrics: Metrics;
}

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
/** Handshakes the kernel queues for accept() (capped by net.core.somaxconn): see listenTcp. */
const LISTEN_BACKLOG = 8192;

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
  /** Connected through connectInProcess() (the demo's simulated devices), not a socket. */
  local: boolean;
  /** A newer connection of the same device that logged in while this one was up. */
  replacedBy?: Client;
  /** The device's own `up` topic, parsed once: nearly every PUBLISH is on it. */
  up: { topic: string; parsed: DeviceTopic };
}

function upTopicOf(device: DeviceRecord): Session['up'] {
  return { topic: topics.up(device.site, device.id), parsed: { kind: 'up', site: device.site, device: device.id } };
}

/** A device's connection came up (CONNACK sent) or went away. */
export interface DeviceConnection {
  device: string;
  site: string;
  connected: boolean;
  /** Made with connectInProcess() (the demo), rather than by a client over TCP or WebSocket. */
  local: boolean;
}

export class Broker implements MqttGateway {
  readonly kind = 'embedded' as const;
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
  /** Connections made with connectInProcess(), by the guarded stream aedes holds. */
  private readonly localConnections = new WeakSet<Duplex>();
  private readonly connectionListeners = new Set<(c: DeviceConnection) => void>();
  private readonly login: BrokerLogin;
  private readonly log: Logger;

  constructor(private readonly deps: BrokerDeps) {
    this.log = deps.logger.child({ module: 'broker' });
    this.login = new BrokerLogin({
      directory: deps.directory,
      ...(deps.rehash ? { rehash: deps.rehash } : {}),
      ...(deps.users ? { users: deps.users } : {}),
      logger: this.log,
    });
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
      // A reconnect storm (every device of a site after a restart or a network cut) comes at
      // once: with Node's default backlog of 511, the kernel dropped a third of 6,000 handshakes
      // while the event loop was busy and each dropped one waited a 1 s SYN retransmission.
      // The kernel caps it at net.core.somaxconn (4096 on current kernels).
      server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
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

  /**
   * A connection from this process, for an MQTT client given the returned stream. It logs in
   * and is policed like any other; device connections made this way are reported `local`.
   */
  connectInProcess(): Duplex {
    const [client, server] = inProcessPipe();
    this.handle(server, undefined, true);
    return client;
  }

  /** Calls `listener` whenever a device's connection comes up or goes away; returns the unsubscribe. */
  onDeviceConnection(listener: (c: DeviceConnection) => void): () => void {
    this.connectionListeners.add(listener);
    return () => this.connectionListeners.delete(listener);
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
    this.connectionListeners.clear();
  }

  private handle(conn: Duplex, req?: IncomingMessage, local = false): void {
    const aedes = this.requireAedes();
    const guarded = new GuardedConnection(conn, this.deps.config, (v) => this.onViolation(conn, v));
    if (local) this.localConnections.add(guarded);
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
      const outcome = await this.login.check(client.id, username, password?.toString('utf8'));
      if (!outcome.ok) return deny(outcome.code, outcome.returnCode, outcome.message);
      const { identity } = outcome;
      if (identity.kind === 'user' && outcome.token) return this.admitUser(client, outcome.token, password!.toString('utf8'), deny, done);
      if (identity.kind !== 'device') return deny('STW_ERR_MQTT_BAD_CREDENTIALS', CONNACK.BAD_USERNAME_OR_PASSWORD, `"${username}" cannot log in here`);
      // The device logs in again while its old connection is up (NB-IoT reconnects; another
      // client taking the device over): aedes closes the old one next [MQTT-3.1.4-2]. The
      // device is not gone, so that close says nothing: no last will, no offline.
      const previous = this.current.get(identity.device.id);
      const old = previous && previous !== client ? this.sessions.get(previous) : undefined;
      if (previous && old) {
        old.replacedBy = client;
        (previous as { will?: unknown }).will = null;
      }
      this.sessions.set(client, { device: identity.device, inflight: 0, local: this.localConnections.has(client.conn as unknown as Duplex), up: upTopicOf(identity.device) });
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
   * A user reading the alarm feed (login.ts checked its token, role and that its client id is
   * no device's). Its client id must not be one held by another account either; the same
   * account reconnecting takes its own id over as MQTT says.
   */
  private admitUser(
    client: Client,
    auth: AuthenticatedToken,
    token: string,
    deny: (code: ErrorCode, returnCode: number, message: string) => void,
    done: (error: AuthenticateError | null, success: boolean | null) => void,
  ): void {
    const { user } = auth;
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
    // client is null when aedes publishes the will of a client that is already gone.
    const session = client ? this.sessions.get(client) : undefined;
    // The device's own uplink topic, as nearly every PUBLISH is: known to be allowed, no parsing.
    const own = session !== undefined && topic === session.up.topic;
    const parsed = own ? session.up.parsed : parseDeviceTopic(topic);
    const device = session?.device ?? (client === null && parsed ? this.deps.directory.getDevice(parsed.device) : null);
    const refusal = own ? null : device ? publishRefusal({ kind: 'device', device }, topic) : topicHasInvalidCharacters(topic) ? 'STW_ERR_MQTT_TOPIC_INVALID' : 'STW_ERR_MQTT_PUBLISH_DENIED';
    if (refusal || !device || !parsed || parsed.kind === 'cmd') {
      const code = refusal ?? 'STW_ERR_MQTT_PUBLISH_DENIED';
      return done(this.hookRefusal(code, code === 'STW_ERR_MQTT_TOPIC_INVALID' ? 'topic holds NUL or invalid UTF-8' : `may not publish to "${topic}"`, client, device));
    }
    if (session && session.inflight >= this.deps.config.maxInflightPerClient) {
      return done(this.hookRefusal('STW_ERR_MQTT_INFLIGHT_EXCEEDED', `more than ${this.deps.config.maxInflightPerClient} messages awaiting commit`, client, device));
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
    const session = this.sessions.get(client);
    const code = user ? subscribeRefusal({ kind: 'user', user }, sub.topic) : session ? subscribeRefusal({ kind: 'device', device: session.device }, sub.topic) : 'STW_ERR_MQTT_SUBSCRIBE_DENIED';
    if (code) {
      this.refuse(code, `may not subscribe to "${sub.topic}"`, user ? { user: user.username } : { clientId: client.id });
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
    this.announce(session, true);
  }

  private onDisconnect(client: Client): void {
    this.deps.metrics.mqttConnections.dec();
    this.integrations.get(client)?.untrack();
    this.integrations.delete(client);
    if (this.integrationIds.get(client.id) === client) this.integrationIds.delete(client.id);
    const session = this.sessions.get(client);
    if (!session) return;
    this.sessions.delete(client);
    this.announce(session, false);
    const holder = this.current.get(session.device.id);
    // A device that already reconnected on a new connection is not offline.
    if (holder && holder !== client) return;
    if (holder === client) this.current.delete(session.device.id);
    // Replaced by a connection still on its way up (its onReady says online): not offline either.
    if (session.replacedBy && this.sessions.has(session.replacedBy)) return;
    void this.deps.ingest.acceptPresence(session.device, false);
  }

  private announce(session: Session, connected: boolean): void {
    const change: DeviceConnection = { device: session.device.id, site: session.device.site, connected, local: session.local };
    for (const listener of this.connectionListeners) {
      try {
        listener(change);
      } catch (err) {
        this.log.error({ err, device: change.device }, 'device connection listener failed');
      }
    }
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

  private hookRefusal(code: ErrorCode, message: string, client: Client | null, device?: DeviceRecord | null): HookRefusal {
    this.refuse(code, message, { clientId: client?.id });
    // A registered device's refusal is also its own, like ingest's: the twin keeps its last one
    // (`lastRejection`, shown on the device page), e.g. a device publishing under a wrong site.
    if (device) this.deps.bus.emit('ingest.rejected', { site: device.site, device: device.id, code, message, at: new Date().toISOString() });
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
    this.login.forget(deviceId);
    const client = this.current.get(deviceId);
    const session = client && this.sessions.get(client);
    if (!client || !session) return;
    const record = this.deps.directory.getDevice(deviceId);
    if (record && record.enabled && record.secretHash === session.device.secretHash) {
      session.device = record;
      session.up = upTopicOf(record);
      return;
    }
    client.close();
  }

  private requireAedes(): Aedes {
    if (!this.aedes) throw new Error('broker not started');
    return this.aedes;
  }
}
