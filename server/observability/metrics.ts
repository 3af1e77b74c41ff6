/**
 * Prometheus metrics. One registry per app instance (never prom-client's global), so tests
 * can run several servers in one process and read each one's counters.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();

  /** Every refusal, by its STW_ERR_ code and where it happened (mqtt, ingest, http). */
  readonly refusals = new Counter({
    name: 'storetwin_refusals_total',
    help: 'Refused connections, packets, payloads and requests by error code',
    labelNames: ['code', 'layer'] as const,
    registers: [this.registry],
  });

  /**
   * Messages from integrations by adapter, outcome (accepted, duplicate, unknown-device, refused,
   * ignored) and, for refusals, the code ('' otherwise).
   */
  readonly integrationMessages = new Counter({
    name: 'storetwin_integration_messages_total',
    help: 'Messages pushed by platforms or fetched by connectors, by adapter, outcome and refusal code',
    labelNames: ['adapter', 'outcome', 'code'] as const,
    registers: [this.registry],
  });

  readonly mqttConnections = new Gauge({
    name: 'storetwin_mqtt_connections',
    help: 'Open MQTT connections (TCP and WebSocket)',
    registers: [this.registry],
  });

  readonly mqttAuthenticated = new Counter({
    name: 'storetwin_mqtt_authenticated_total',
    help: 'Successful device authentications',
    registers: [this.registry],
  });

  readonly ingested = new Counter({
    name: 'storetwin_events_ingested_total',
    help: 'Device events decoded, validated and durably stored',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });

  readonly duplicates = new Counter({
    name: 'storetwin_events_duplicate_total',
    help: 'Events dropped as duplicates of an already stored (device, seq)',
    registers: [this.registry],
  });

  readonly commitBatchSize = new Histogram({
    name: 'storetwin_commit_batch_events',
    help: 'Events per group commit',
    buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000],
    registers: [this.registry],
  });

  readonly commitSeconds = new Histogram({
    name: 'storetwin_commit_seconds',
    help: 'Duration of one group commit',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });

  readonly httpRequests = new Counter({
    name: 'storetwin_http_requests_total',
    help: 'HTTP API requests by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });

  /** Notification delivery attempts by channel and outcome (delivered, retry, dead). */
  readonly deliveries = new Counter({
    name: 'storetwin_deliveries_total',
    help: 'Notification delivery attempts by channel (webhook, email) and outcome (delivered, retry, dead)',
    labelNames: ['channel', 'outcome'] as const,
    registers: [this.registry],
  });

  /** Alarm lifecycle changes that committed, by action (raised, repeated, acknowledged…). */
  readonly alarms = new Counter({
    name: 'storetwin_alarms_total',
    help: 'Alarm lifecycle changes by severity and action',
    labelNames: ['severity', 'action'] as const,
    registers: [this.registry],
  });

  /** Triggers dropped because their device or zone was under maintenance. */
  readonly alarmsSuppressed = new Counter({
    name: 'storetwin_alarms_suppressed_total',
    help: 'Alarm triggers suppressed by maintenance, by rule',
    labelNames: ['rule'] as const,
    registers: [this.registry],
  });

  /** Alarms marked chattering (server/alarms/chatter.ts), once per alarm. */
  readonly alarmsChattering = new Counter({
    name: 'storetwin_alarms_chattering_total',
    help: 'Alarms whose condition changed state too often (chattering), by rule',
    labelNames: ['rule'] as const,
    registers: [this.registry],
  });

  constructor(opts: { processMetrics?: boolean } = {}) {
    if (opts.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'storetwin_' });
  }

  refuse(code: string, layer: 'mqtt' | 'ingest' | 'http' | 'integration'): void {
    this.refusals.inc({ code, layer });
  }
}
