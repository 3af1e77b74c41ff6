/**
 * The one error catalogue. Every refusal StoreTwin makes — over MQTT, HTTP or the CLI —
 * carries one of these codes. A code is never reused for another meaning; README.md lists
 * them all (tests/errors.test.ts checks that it does).
 */
export const ERRORS = {
  // Configuration and startup
  STW_ERR_CONFIG_INVALID: { status: 500, message: 'configuration is invalid' },
  STW_ERR_SITE_INVALID: { status: 400, message: 'site model is invalid' },

  // MQTT transport (the connection is closed)
  STW_ERR_MQTT_FIRST_PACKET_NOT_CONNECT: { status: 400, message: 'first MQTT packet was not CONNECT' },
  STW_ERR_MQTT_CONNECT_TOO_LARGE: { status: 413, message: 'CONNECT packet exceeds the pre-authentication size cap' },
  STW_ERR_MQTT_PACKET_TOO_LARGE: { status: 413, message: 'MQTT packet exceeds the size cap' },
  STW_ERR_MQTT_MALFORMED_PACKET: { status: 400, message: 'MQTT packet is malformed' },
  STW_ERR_MQTT_CONNECT_TIMEOUT: { status: 408, message: 'no CONNECT within the connect timeout' },
  STW_ERR_MQTT_PROTOCOL_VERSION: { status: 400, message: 'only MQTT 3.1.1 is supported' },
  STW_ERR_MQTT_INFLIGHT_EXCEEDED: { status: 429, message: 'too many unacknowledged messages from this client' },
  STW_ERR_MQTT_QUEUE_EXCEEDED: { status: 429, message: 'too many packets queued before the session was established' },
  STW_ERR_MQTT_CONNECTION_ERROR: { status: 400, message: 'MQTT connection error' },

  // MQTT authentication and authorisation
  STW_ERR_MQTT_BAD_CREDENTIALS: { status: 401, message: 'wrong username or password' },
  STW_ERR_MQTT_UNKNOWN_DEVICE: { status: 401, message: 'no such device' },
  STW_ERR_MQTT_CLIENT_ID_MISMATCH: { status: 401, message: 'client id must equal the device id it authenticates as' },
  STW_ERR_MQTT_DEVICE_DISABLED: { status: 403, message: 'device is disabled' },
  STW_ERR_MQTT_PUBLISH_DENIED: { status: 403, message: 'device may not publish to this topic' },
  STW_ERR_MQTT_SUBSCRIBE_DENIED: { status: 403, message: 'device may not subscribe to this topic' },
  STW_ERR_MQTT_TOPIC_INVALID: { status: 400, message: 'topic holds NUL, invalid UTF-8, wildcards or too many levels' },
  STW_ERR_MQTT_CLIENT_ID_RESERVED: { status: 401, message: 'client id belongs to a device or to another account' },

  // An external MQTT broker (STORETWIN_MQTT_URL) and the broker auth endpoints
  STW_ERR_MQTT_EXTERNAL_UNREACHABLE: { status: 503, message: 'the external MQTT broker did not accept a connection in time (address, port, TLS or network)' },
  STW_ERR_REDIS_UNREACHABLE: { status: 503, message: 'Redis (the live feed across workers) did not answer in time or refused the credentials' },
  STW_ERR_RELAY_FAILED: { status: 503, message: 'events stored for a site another worker holds could not be handed to it through the broker: its rules and twin miss them' },
  STW_ERR_RELAY_INVALID: { status: 400, message: 'a message on a site\'s relay topic is not a list of events of that site' },
  STW_ERR_MQTT_EXTERNAL_REFUSED: { status: 503, message: "the external MQTT broker refused StoreTwin's user name or password" },
  STW_ERR_MOSQUITTO_FILES_FAILED: { status: 500, message: "Mosquitto's password or ACL file could not be written, or Mosquitto could not be told to reload them" },
  STW_ERR_BROKER_AUTH_DISABLED: { status: 404, message: 'the broker auth endpoints are off: no shared secret is configured (STORETWIN_BROKER_AUTH_SECRET)' },
  STW_ERR_BROKER_AUTH_SECRET_INVALID: { status: 401, message: 'the shared secret in x-storetwin-broker-secret is missing or wrong' },

  // Ingest (the message is refused, the connection stays)
  STW_ERR_PAYLOAD_TOO_LARGE: { status: 413, message: 'payload exceeds the size cap for this topic' },
  STW_ERR_PAYLOAD_MALFORMED_JSON: { status: 400, message: 'payload is not valid JSON' },
  STW_ERR_PAYLOAD_SCHEMA: { status: 400, message: 'payload does not match the device type schema' },
  STW_ERR_FRAME_CHECKSUM: { status: 400, message: 'binary frame checksum mismatch' },
  STW_ERR_FRAME_LENGTH: { status: 400, message: 'binary frame length is wrong' },
  STW_ERR_FRAME_UNKNOWN_COMMAND: { status: 400, message: 'binary frame command is unknown' },
  STW_ERR_FRAME_MALFORMED: { status: 400, message: 'binary frame is malformed' },
  STW_ERR_EVENT_UNSUPPORTED: { status: 400, message: 'this device type does not produce that event' },
  STW_ERR_STATUS_INVALID: { status: 400, message: 'status payload must be "online" or "offline"' },
  STW_ERR_PAYLOAD_TOO_MANY_EVENTS: { status: 413, message: 'message holds more events than one message may carry' },
  STW_ERR_DEVICE_RATE_LIMITED: { status: 429, message: 'device exceeded its event rate budget' },
  STW_ERR_STORAGE_FAILED: { status: 503, message: 'event could not be stored' },
  STW_ERR_STORAGE_UNAVAILABLE: { status: 503, message: 'a storage server (PostgreSQL, InfluxDB) cannot be reached, refused the credentials or failed the query' },

  // HTTP API
  STW_ERR_AUTH_REQUIRED: { status: 401, message: 'authentication required' },
  STW_ERR_AUTH_INVALID: { status: 401, message: 'wrong username or password' },
  STW_ERR_TOKEN_INVALID: { status: 401, message: 'token is invalid or expired' },
  STW_ERR_FORBIDDEN: { status: 403, message: 'your role may not do this' },
  STW_ERR_ORIGIN_FORBIDDEN: { status: 403, message: 'cross-origin request refused: the Origin does not match this server' },
  STW_ERR_PASSWORD_INVALID: { status: 403, message: 'current password is wrong' },
  STW_ERR_TOKEN_NOT_FOUND: { status: 404, message: 'no such token' },
  STW_ERR_SETUP_DONE: { status: 409, message: 'setup already completed' },
  STW_ERR_SETUP_TOKEN_INVALID: { status: 401, message: 'setup token is invalid' },
  STW_ERR_VALIDATION: { status: 400, message: 'request is invalid' },
  STW_ERR_BODY_TOO_LARGE: { status: 413, message: 'request body too large' },
  STW_ERR_NOT_FOUND: { status: 404, message: 'not found' },
  STW_ERR_SITE_NOT_FOUND: { status: 404, message: 'no such site' },
  STW_ERR_ZONE_NOT_FOUND: { status: 404, message: 'no such zone' },
  STW_ERR_DEVICE_NOT_FOUND: { status: 404, message: 'no such device' },
  STW_ERR_DEVICE_EXISTS: { status: 409, message: 'a device with this id already exists' },
  STW_ERR_DEVICE_ID_UNAVAILABLE: { status: 409, message: 'this device id cannot be used: choose another' },
  STW_ERR_EXTERNAL_ID_TAKEN: { status: 409, message: 'another device already has this external id' },
  STW_ERR_DEVICE_TYPE_UNKNOWN: { status: 400, message: 'unknown device type' },
  // Device imports (CSV): every problem is listed at once in `detail.problems`; nothing is registered
  STW_ERR_IMPORT_INVALID: { status: 400, message: 'the import has problems (listed in detail.problems): nothing was registered' },
  STW_ERR_IMPORT_TOO_LARGE: { status: 413, message: 'the import exceeds 1 MB or 5,000 devices: split the file' },
  STW_ERR_IMPORT_DUPLICATE: { status: 400, message: 'the same device id or external id appears twice in the import' },
  STW_ERR_CSV_MALFORMED: { status: 400, message: 'the CSV cannot be read: an unclosed or stray quote, a row with more fields than the header, or no rows' },
  STW_ERR_CSV_COLUMN: { status: 400, message: 'the CSV header names an unknown column, names one twice, or lacks id, type or zone' },
  STW_ERR_EXTERNAL_ID_INVALID: { status: 400, message: "external id is too long, spans lines, or is not in its platform's form (an IMEI's 15 digits, a MAC address)" },
  STW_ERR_USER_EXISTS: { status: 409, message: 'a user with this name already exists' },
  STW_ERR_USER_NOT_FOUND: { status: 404, message: 'no such user' },
  STW_ERR_LAST_ADMIN: { status: 409, message: 'the last admin cannot be removed' },
  // Rules
  STW_ERR_RULE_INVALID: { status: 400, message: 'rule is invalid' },
  STW_ERR_RULE_NOT_FOUND: { status: 404, message: 'no such rule' },
  STW_ERR_RULE_EXISTS: { status: 409, message: 'a rule with this id already exists' },
  STW_ERR_RULE_FROM_FILE: { status: 409, message: 'this rule comes from a rule file: edit the file instead' },

  STW_ERR_RATE_LIMITED: { status: 429, message: 'too many requests' },
  STW_ERR_BUSY: { status: 429, message: 'a long read of this kind is already running: retry after the time in Retry-After' },
  STW_ERR_QUERY_TOO_LARGE: { status: 413, message: 'the request would read more than a request may: narrow the time range' },
  STW_ERR_INTERNAL: { status: 500, message: 'internal error' },

  // Alarms
  STW_ERR_ALARM_NOT_FOUND: { status: 404, message: 'no such alarm' },
  STW_ERR_ALARM_TRANSITION: { status: 409, message: 'the alarm is not in a state that allows this' },

  // Arming, maintenance, camera snapshots
  STW_ERR_MAINTENANCE_NOT_FOUND: { status: 404, message: 'no such maintenance window' },
  STW_ERR_SNAPSHOT_NOT_FOUND: { status: 404, message: 'no such snapshot' },

  // Notifications
  STW_ERR_NOTIFY_CONFIG_INVALID: { status: 500, message: 'notification config (notify.yaml) is invalid' },
  STW_ERR_WEBHOOK_URL_FORBIDDEN: { status: 400, message: 'webhook URL points to a forbidden address (loopback, link-local, private, multicast) or is not http(s)' },
  STW_ERR_DELIVERY_NOT_FOUND: { status: 404, message: 'no such delivery' },
  STW_ERR_DELIVERY_NOT_RETRYABLE: { status: 409, message: 'delivery was already delivered' },
  STW_ERR_NOTIFY_ROUTE_NOT_FOUND: { status: 404, message: 'no such notification route' },
  STW_ERR_NOTIFY_TEST_FAILED: { status: 502, message: 'the test message was not delivered: the receiver refused it or did not answer' },

  // Integrations (pushes from platforms and vendor devices, connectors to them)
  STW_ERR_ADAPTER_UNKNOWN: { status: 404, message: 'no such integration adapter' },
  STW_ERR_INTEGRATION_NOT_FOUND: { status: 404, message: 'no such integration' },
  STW_ERR_INTEGRATION_TOKEN_INVALID: { status: 401, message: 'integration token is missing, wrong or rotated' },
  STW_ERR_INTEGRATION_DISABLED: { status: 403, message: 'integration is disabled' },
  STW_ERR_INTEGRATION_RATE_LIMITED: { status: 429, message: 'integration exceeded its push rate budget' },
  STW_ERR_INTEGRATION_SETTINGS_INVALID: { status: 400, message: 'integration settings are invalid for its adapter' },
  STW_ERR_PUSH_TOO_LARGE: { status: 413, message: 'pushed body exceeds the size cap' },
  STW_ERR_PUSH_MALFORMED: { status: 400, message: 'pushed body cannot be parsed (JSON, XML or multipart)' },
  STW_ERR_PUSH_SCHEMA: { status: 400, message: "pushed body is not the platform's message format" },
  STW_ERR_PUSH_SIGNATURE: { status: 401, message: "platform signature does not verify against the integration's token" },
  STW_ERR_DEVICE_DISABLED: { status: 403, message: 'device is disabled: what integrations report for it is dropped' },
  STW_ERR_PUSH_DEVICE_UNKNOWN: { status: 404, message: 'no registered device has the external id the message names (answered 200 so the platform does not retry; listed for admins)' },
  STW_ERR_UPSTREAM_FAILED: { status: 502, message: 'the device system did not answer or answered something unusable' },

  // Dashboard
  STW_ERR_DASHBOARD_NOT_BUILT: { status: 503, message: 'the dashboard is not built: run `npm run build`' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** An error with a stable code. `detail` is safe to show to the caller. */
export class StoreTwinError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail: unknown;

  constructor(code: ErrorCode, message?: string, detail?: unknown) {
    super(message ?? ERRORS[code].message);
    this.name = 'StoreTwinError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.detail = detail;
  }

  toJSON(): { code: ErrorCode; message: string; detail?: unknown } {
    return this.detail === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, detail: this.detail };
  }
}

export function isStoreTwinError(err: unknown): err is StoreTwinError {
  return err instanceof StoreTwinError;
}
