/**
 * The MQTT interface for the API description (`x-mqtt` in /api/openapi.json, the "MQTT" section
 * of /api/docs). OpenAPI has no words for a broker, so this is StoreTwin's own extension; its
 * parts come from where they are defined: topic names from server/broker/topics.ts, each
 * device type's event schema and examples from the device catalogue (devices/), the alarm
 * feed's message from schemas.ts (as a $ref into the document's components).
 */
import { deviceTypes } from '../../../devices/index.ts';
import { topics } from '../../broker/topics.ts';
import { inputSchema } from './json-schema.ts';

export interface MqttTopic {
  topic: string;
  direction: string;
  /** Who may publish or subscribe, and with which credentials. */
  who: string;
  payload: string;
  /** JSON Schema of a JSON payload (or a $ref into components/schemas). */
  schema?: Record<string, unknown>;
  example?: string;
}

export interface MqttDeviceType {
  id: string;
  label: { en: string; 'zh-CN': string };
  capabilities: string[];
  formats: string[];
  /** JSON Schema of one JSON event from this type (a message may also be an array of up to 32). */
  schema: Record<string, unknown>;
  /** Payloads exactly as the type's codec writes them: JSON text, or the binary frame as hex. */
  examples: Array<{ format: string; payload: string }>;
}

export interface MqttInterface {
  description: string;
  endpoints: Array<{ url: string; description: string }>;
  topics: MqttTopic[];
  deviceTypes: MqttDeviceType[];
}

const S = '{site}';
const D = '{device}';

function deviceType(t: (typeof deviceTypes)[number]): MqttDeviceType {
  const examples = (t.examples ?? []).map((e) => {
    const bytes = t.encode(e.event, e.format);
    return { format: e.format, payload: e.format === 'binary' ? bytes.toString('hex').toUpperCase() : bytes.toString('utf8') };
  });
  return {
    id: t.id,
    label: { en: t.label.en, 'zh-CN': t.label['zh-CN'] },
    capabilities: [...t.capabilities],
    formats: [...t.formats],
    schema: inputSchema(t.schema),
    examples,
  };
}

export function mqttInterface(): MqttInterface {
  return {
    description:
      'MQTT 3.1.1 on the embedded broker. A device connects with client id = username = its device id and password = the secret issued when it was registered (POST /api/devices); it may publish only under its own `storetwin/{site}/{device}/` and subscribe only to its own `cmd`. An integration reading the alarm feed connects as a user: username = the user name, password = an API token, any client id that is not a device id. QoS 1 means stored: the PUBACK of an `up` message is sent after the event is committed. Refusals are coded (STW_ERR_MQTT_…, STW_ERR_PAYLOAD_…, STW_ERR_FRAME_…) and counted in /metrics.',
    endpoints: [
      { url: 'mqtt://{host}:1883', description: 'TCP (STORETWIN_MQTT_PORT)' },
      { url: 'ws://{host}:8080/mqtt', description: 'WebSocket on the HTTP port' },
    ],
    topics: [
      {
        topic: topics.up(S, D),
        direction: 'device → server',
        who: 'the device',
        payload: 'One event or a JSON array of at most 32, as JSON, or the device type’s binary frame (raw bytes or ASCII hex). Every JSON event has `type`; `seq` (drops retransmissions) and `ts` (ISO 8601) where the device has them. Each device type’s events: deviceTypes (below).',
        example: '{"type":"door","state":"open","seq":41,"ts":"2026-11-23T02:14:07Z"}',
      },
      {
        topic: topics.status(S, D),
        direction: 'device → server (retained; also the device’s last will)',
        who: 'the device',
        payload: '`online` or `offline`, plain text',
        example: 'online',
      },
      {
        topic: topics.cmd(S, D),
        direction: 'server → device',
        who: 'the device subscribes to its own',
        payload: 'A command, JSON: `id` (echoed by the answer) and `cmd`, plus the command’s own fields.',
        schema: { type: 'object', properties: { id: { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,64}$' }, cmd: { type: 'string' } }, required: ['id', 'cmd'] },
        example: '{"id":"a1b2c3","cmd":"snapshot"}',
      },
      {
        topic: topics.snapshot(S, D, '{id}'),
        direction: 'camera → server',
        who: 'the camera',
        payload: 'JPEG bytes answering command `{id}`',
      },
      {
        topic: topics.alarms(S),
        direction: 'server → integrations',
        who: 'a user whose role may read alarms (alarms:read), for the sites it may see; `storetwin/+/alarms` when it sees all',
        payload: 'Every committed alarm change, JSON: the action and the alarm without its history (components/schemas/AlarmFeedMessage).',
        schema: { $ref: '#/components/schemas/AlarmFeedMessage' },
      },
    ],
    deviceTypes: deviceTypes.map(deviceType),
  };
}
