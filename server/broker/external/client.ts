/**
 * StoreTwin as a client of an external broker (STORETWIN_MQTT_URL: Mosquitto, EMQX…), in place
 * of the embedded one. Devices connect to that broker with their own credentials (which
 * StoreTwin gives it: mosquitto-sync.ts for Mosquitto, emqx.ts for EMQX) and publish on the
 * topics of DESIGN.md; StoreTwin reads them through one persistent session.
 *
 * What "QoS 1 means stored" becomes here: the broker keeps a message until StoreTwin
 * acknowledges it, so StoreTwin acknowledges only after ingest has committed it.
 * - The session is persistent (clean=false, a fixed client id): while StoreTwin is down or
 *   restarting, the broker queues what devices publish, and redelivers what was sent but not
 *   acknowledged. Subscriptions are made only when the broker says it holds no session for us.
 * - Messages reach us through MQTT.js's `handleMessage(packet, callback)`, installed before the
 *   connection opens because a resumed session's queue arrives right after CONNACK. MQTT.js
 *   sends its PUBACK when the callback is called without an error, and hands over the next
 *   message only then (lib/handlers/publish.js, mqtt 5.16). Waiting there for each commit
 *   would store one message per commit, so each message is started into ingest and the
 *   callback is called at once *with an error*, which makes MQTT.js skip its PUBACK and go on;
 *   in-order-acks.ts sends the PUBACK once the message is stored, in arrival order. Everything
 *   the broker has in flight to us (Mosquitto: max_inflight_messages) shares a commit.
 * - Storing failed: no PUBACK; the connection is dropped so the broker redelivers the message
 *   (and those after it) on the reconnection; ingest's dedupe by `seq` drops copies already
 *   stored.
 * - A message refused by policy (a device StoreTwin does not know, a disabled one, a topic of
 *   another site) or by ingest (bad payload) is acknowledged and dropped, coded and counted as
 *   with the embedded broker: the broker would otherwise redeliver it forever.
 * - A retained `up` or `snapshot` delivered because the subscription is new is old news and
 *   dropped; retained `status` is presence and taken (as the embedded broker keeps only status
 *   retained).
 * Presence: Mosquitto tells a client nothing of other clients' connections, so a device is
 * online when its last status message (or its last will) said so: `isConnected` reads it from
 * the twin, which records every status event.
 */
import { readFileSync } from 'node:fs';
import { connect, type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import type { Config } from '../../config.ts';
import { StoreTwinError, type ErrorCode } from '../../errors.ts';
import type { Ingest } from '../../ingest/ingest.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { DeviceDirectory } from '../../registry/directory.ts';
import type { MqttGateway } from '../gateway.ts';
import { SERVER_SUBSCRIPTIONS, publishRefusal } from '../policy.ts';
import { decodeRelay } from '../relay.ts';
import { parseDeviceTopic, parseRelayTopic, topics } from '../topics.ts';
import { InOrderAcks } from './in-order-acks.ts';

export interface ExternalBrokerDeps {
  /** mqtt://user:pass@host:port or mqtts://… */
  url: string;
  config: Config['broker']['external'];
  /** The devices, in memory; one not there yet (just added by the CLI) is read from the store once. */
  directory: Pick<DeviceDirectory, 'getDevice' | 'lookup'>;
  ingest: Ingest;
  /** The device's last known connectivity (the twin's, from its status messages). */
  isOnline: (deviceId: string) => boolean;
  logger: Logger;
  metrics: Metrics;
  /**
   * One site's session instead of everyone's (a worker of several: server/cluster/site-consumers.ts):
   * its own persistent client id and that site's filters only. Default: config.clientId, every site.
   */
  session?: { clientId: string; subscriptions: readonly string[] };
}

/** CONNACK codes that mean "not you" (3.1.1: 2 client id, 4 user/password, 5 not authorised; 5.0: 0x85–0x87, 0x8C). */
const REFUSED = new Set([2, 4, 5, 0x85, 0x86, 0x87, 0x8c]);
/** Passed to handleMessage's callback: MQTT.js then sends no PUBACK (in-order-acks.ts does). */
const ACKNOWLEDGED_LATER = new Error('acknowledged once stored');

/** Refusals in a row at start before it fails: see connectWithin. */
const REFUSALS_BEFORE_GIVING_UP = 3;

/** The URL as it may be shown: without its password. */
export function redactUrl(url: string): string {
  const u = new URL(url);
  u.password = '';
  return u.toString().replace(/\/$/, '');
}

export class ExternalBroker implements MqttGateway {
  readonly kind = 'external' as const;
  private client: MqttClient | null = null;
  private stopping = false;
  private readonly acks = new InOrderAcks();
  private readonly log: Logger;
  /** The broker's address without credentials, for logs, errors and the start-up banner. */
  readonly publicUrl: string;
  private readonly clientId: string;
  private readonly subscriptions: readonly string[];

  constructor(private readonly deps: ExternalBrokerDeps) {
    this.log = deps.logger.child({ module: 'external-broker' });
    this.publicUrl = redactUrl(deps.url);
    this.clientId = deps.session?.clientId ?? deps.config.clientId;
    this.subscriptions = deps.session?.subscriptions ?? SERVER_SUBSCRIPTIONS;
  }

  async start(): Promise<void> {
    const { config } = this.deps;
    const url = new URL(this.deps.url);
    const options: IClientOptions = {
      protocol: url.protocol === 'mqtts:' ? 'mqtts' : 'mqtt',
      host: url.hostname,
      port: url.port ? Number(url.port) : url.protocol === 'mqtts:' ? 8883 : 1883,
      username: url.username ? decodeURIComponent(url.username) : undefined,
      password: url.password ? decodeURIComponent(url.password) : undefined,
      clientId: this.clientId,
      clean: false,
      protocolVersion: 4,
      reconnectPeriod: config.reconnectPeriodMs,
      // A refusal can be passing (a broker reloading its accounts): keep trying, as for a lost connection.
      reconnectOnConnackError: true,
      connectTimeout: config.connectTimeoutMs,
      // Subscriptions follow the broker's session (see onConnect), not MQTT.js's memory.
      resubscribe: false,
      manualConnect: true,
      ...(config.caFile ? { ca: readFileSync(config.caFile) } : {}),
    };
    const client = connect(options);
    // Before connecting: a resumed session's queue arrives right after CONNACK.
    client.handleMessage = (packet, callback) => this.receive(client, packet, callback);
    this.client = client;
    await this.connectWithin(client, config.connectTimeoutMs);
    client.on('connect', (connack) => {
      this.log.info({ broker: this.publicUrl, sessionPresent: connack.sessionPresent }, 'reconnected to the external broker');
      if (!connack.sessionPresent) void this.subscribe(client).catch((err: unknown) => this.log.error({ err }, 'subscriptions refused after reconnecting'));
    });
    // Acknowledgements owed on a closed connection are never sent: the broker redelivers.
    client.on('close', () => this.acks.abandon(client.stream));
    client.on('offline', () => {
      if (!this.stopping) this.log.warn({ broker: this.publicUrl }, 'external broker connection lost: reconnecting (it keeps our session and queues devices\' messages)');
    });
    client.on('error', (err) => this.log.warn({ err, broker: this.publicUrl }, 'external broker connection error'));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const client = this.client;
    this.client = null;
    if (client) await client.endAsync();
  }

  async sendCommand(site: string, device: string, command: Record<string, unknown>): Promise<void> {
    await this.publish(topics.cmd(site, device), Buffer.from(JSON.stringify(command)));
  }

  async publish(topic: string, payload: Buffer): Promise<void> {
    if (!this.client) throw new Error('external broker client not started');
    // While disconnected MQTT.js keeps the message and sends it on reconnection.
    await this.client.publishAsync(topic, payload, { qos: 1, retain: false });
  }

  isConnected(deviceId: string): boolean {
    return this.deps.isOnline(deviceId);
  }

  /**
   * Resolves once connected and subscribed; rejects with a coded error naming the broker (never
   * its password) when it refuses us or has not accepted us within `timeoutMs`.
   */
  private connectWithin(client: MqttClient, timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let lastError: Error | null = null;
      const finish = (err: StoreTwinError | null) => {
        clearTimeout(timer);
        client.off('connect', onConnect);
        client.off('error', onError);
        if (!err) return resolve();
        client.end(true);
        reject(err);
      };
      const timer = setTimeout(() => {
        const why = lastError ? `: ${lastError.message}` : '';
        finish(new StoreTwinError('STW_ERR_MQTT_EXTERNAL_UNREACHABLE', `the external MQTT broker ${this.publicUrl} did not accept a connection within ${timeoutMs} ms${why}`));
      }, timeoutMs);
      let refusals = 0;
      const onError = (err: Error & { code?: unknown }) => {
        lastError = err;
        // A broker that was just told to reload its accounts (Mosquitto after SIGHUP) may refuse
        // once or twice more; refused every time is wrong credentials, said without waiting long.
        if (typeof err.code === 'number' && REFUSED.has(err.code) && ++refusals >= REFUSALS_BEFORE_GIVING_UP) {
          finish(new StoreTwinError('STW_ERR_MQTT_EXTERNAL_REFUSED', `the external MQTT broker ${this.publicUrl} refused StoreTwin's login (user "${decodeURIComponent(new URL(this.deps.url).username)}", client id "${this.clientId}"): ${err.message}`));
        }
      };
      const onConnect = (connack: { sessionPresent: boolean }) => {
        this.log.info({ broker: this.publicUrl, clientId: this.clientId, sessionPresent: connack.sessionPresent }, 'connected to the external broker');
        if (connack.sessionPresent) return finish(null);
        this.subscribe(client).then(
          () => finish(null),
          (err: unknown) => finish(err instanceof StoreTwinError ? err : new StoreTwinError('STW_ERR_MQTT_EXTERNAL_REFUSED', String(err))),
        );
      };
      client.on('error', onError);
      client.on('connect', onConnect);
      client.connect();
    });
  }

  private async subscribe(client: MqttClient): Promise<void> {
    if (this.subscriptions.length === 0) return; // a worker's publishing session: its sites are read by sessions of their own
    const granted = await client.subscribeAsync([...this.subscriptions], { qos: 1 });
    const refused = granted.filter((g) => g.qos === 128).map((g) => g.topic);
    if (refused.length > 0) {
      throw new StoreTwinError('STW_ERR_MQTT_EXTERNAL_REFUSED', `the external MQTT broker ${this.publicUrl} refused StoreTwin's subscriptions ${refused.join(', ')}: give its account read access to them (ACL)`);
    }
    this.log.info({ subscriptions: this.subscriptions }, 'subscribed to device topics at QoS 1');
  }

  /** MQTT.js calls this for every PUBLISH, one at a time; see the file comment. */
  private receive(client: MqttClient, packet: IPublishPacket, done: (err?: Error) => void): void {
    const stream = client.stream;
    // Stopping: take nothing more; unacknowledged, it is redelivered to the next session.
    if (this.stopping) return done(ACKNOWLEDGED_LATER);
    if (packet.qos === 0 || packet.messageId === undefined) {
      // Nothing to acknowledge (a device published at QoS 0): stored when it is.
      this.handle(packet).catch((err: unknown) => this.notStored(err, packet.topic));
      return done();
    }
    const owed = this.acks.expect(packet.messageId, stream);
    this.handle(packet).then(
      () => this.acks.settle(owed),
      (err: unknown) => {
        // Not stored: no PUBACK for it or anything after it on this connection, which is
        // dropped so that the broker redelivers them.
        this.notStored(err, packet.topic);
        this.acks.abandon(stream);
        stream.destroy();
      },
    );
    done(ACKNOWLEDGED_LATER);
  }

  private notStored(err: unknown, topic: string): void {
    const code = err instanceof StoreTwinError ? err.code : 'STW_ERR_STORAGE_FAILED';
    this.deps.metrics.refuse(code, 'ingest');
    this.log.error({ err, code, topic }, 'message not stored: not acknowledged, reconnecting so the broker redelivers it');
  }

  private async handle(packet: IPublishPacket): Promise<void> {
    const topic = packet.topic;
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    const relayed = parseRelayTopic(topic);
    if (relayed !== null) return this.acceptRelayed(relayed, payload);
    const parsed = parseDeviceTopic(topic);
    if (!parsed || parsed.kind === 'cmd') return this.refuse('STW_ERR_MQTT_PUBLISH_DENIED', `not a device uplink topic: "${topic}"`);
    if (packet.retain && parsed.kind !== 'status') return; // old news, see the file comment
    const device = this.deps.directory.getDevice(parsed.device) ?? (await this.deps.directory.lookup(parsed.device));
    if (!device) return this.refuse('STW_ERR_MQTT_UNKNOWN_DEVICE', `message from unknown device "${parsed.device}" on "${topic}"`);
    if (!device.enabled) return this.refuse('STW_ERR_MQTT_DEVICE_DISABLED', `message from disabled device "${device.id}"`);
    const refusal = publishRefusal({ kind: 'device', device }, topic);
    if (refusal) return this.refuse(refusal, `device "${device.id}" of ${device.site} may not publish to "${topic}"`);
    const { ingest } = this.deps;
    if (parsed.kind === 'up') await ingest.acceptUplink(device, payload);
    else if (parsed.kind === 'status') await ingest.acceptStatusPayload(device, payload);
    else await ingest.acceptSnapshot(device, parsed.commandId, payload);
  }

  /**
   * Events another worker stored for a site this session reads (broker/relay.ts). Their devices
   * may be new to this worker (registered through the other one a moment ago): read first, so
   * that the twin and the rules know them.
   */
  private async acceptRelayed(site: string, payload: Buffer): Promise<void> {
    let events;
    try {
      events = decodeRelay(site, payload);
    } catch (err) {
      if (err instanceof StoreTwinError) return this.refuse(err.code, err.message);
      throw err;
    }
    const { directory } = this.deps;
    for (const id of new Set(events.map((e) => e.device))) if (!directory.getDevice(id)) await directory.lookup(id);
    this.deps.ingest.acceptRelayed(events);
  }

  private refuse(code: ErrorCode, message: string): void {
    this.deps.metrics.refuse(code, 'mqtt');
    this.log.warn({ code }, message);
  }
}
