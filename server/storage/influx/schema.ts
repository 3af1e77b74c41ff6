/**
 * What StoreTwin keeps in InfluxDB, by name. Dashboards (grafana/) and operators' own queries
 * are written against these names: renaming one breaks them.
 *
 * Retention policies: `raw` (the database's default; 90 days unless configured) holds every
 * point written; `rollups` (kept forever unless configured) holds what the continuous queries
 * downsample footfall into.
 *
 * | measurement     | tags                                   | fields                                   | time        |
 * | --------------- | -------------------------------------- | ---------------------------------------- | ----------- |
 * | `events`        | site, device, device_type, zone, type  | data (JSON string), received_at (ms, int), seq (int, absent when null), id (int) | the event's ts |
 * | `device_health` | site, device, device_type, zone        | battery (V), battery_pct, rsrp (dBm), snr (dB), floats, those the heartbeat carries | the heartbeat's ts |
 * | `footfall`      | site, device, zone                     | in, out (int)                            | the count's ts |
 * | `receipts`      | device                                 | seq (int)                                | received_at |
 * | `footfall_1m`, `footfall_1h` (in `rollups`) | site, zone, device | in, out: sums per minute / hour  | window start |
 *
 * Every raw point's time is the event's time in ms plus a sub-millisecond tie (see stamps.ts),
 * so equal events never share a time and never overwrite each other.
 */
import { FieldType, type ISchemaOptions } from 'influx';

export const RAW_RP = 'raw';
export const ROLLUP_RP = 'rollups';

export const EVENTS = 'events';
export const DEVICE_HEALTH = 'device_health';
export const FOOTFALL = 'footfall';
export const RECEIPTS = 'receipts';
export const FOOTFALL_ROLLUPS = [
  { measurement: 'footfall_1m', every: '1m', resampleFor: '10m' },
  { measurement: 'footfall_1h', every: '1h', resampleFor: '2h' },
] as const;

export const EVENT_TAGS = ['site', 'device', 'device_type', 'zone', 'type'] as const;
export const HEALTH_FIELDS = { battery: 'battery', batteryPct: 'battery_pct', rsrp: 'rsrp', snr: 'snr' } as const;

/** Field types and tag names per measurement: the client checks every point against them. */
export const MEASUREMENT_SCHEMAS: ISchemaOptions[] = [
  {
    measurement: EVENTS,
    tags: [...EVENT_TAGS],
    fields: { data: FieldType.STRING, received_at: FieldType.INTEGER, seq: FieldType.INTEGER, id: FieldType.INTEGER },
  },
  {
    measurement: DEVICE_HEALTH,
    tags: ['site', 'device', 'device_type', 'zone'],
    fields: Object.fromEntries(Object.values(HEALTH_FIELDS).map((f) => [f, FieldType.FLOAT])),
  },
  { measurement: FOOTFALL, tags: ['site', 'device', 'zone'], fields: { in: FieldType.INTEGER, out: FieldType.INTEGER } },
  { measurement: RECEIPTS, tags: ['device'], fields: { seq: FieldType.INTEGER } },
];
