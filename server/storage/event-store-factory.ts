/**
 * Which event store holds the events: InfluxDB when an influx URL is configured
 * (STORETWIN_INFLUX_URL), else the SQLite database everything else lives in. The choice is a
 * plain description (EventStoreSpec) so the long-read thread (server/reads/) can open the same
 * store on its own side.
 */
import { InfluxEventStore, type InfluxEventStoreOptions } from './influx/event-store.ts';
import type { EventStore } from './types.ts';

/** Options that cross to a worker thread (structured clone: no functions). */
export type InfluxSpecOptions = Omit<InfluxEventStoreOptions, 'now'>;

export type EventStoreSpec = { kind: 'sqlite' } | { kind: 'influx'; url: string; options?: InfluxSpecOptions };

export function eventStoreSpec(influxUrl: string | undefined, options: InfluxSpecOptions = {}): EventStoreSpec {
  return influxUrl === undefined || influxUrl === '' ? { kind: 'sqlite' } : { kind: 'influx', url: influxUrl, options };
}

/** The same store for a reader that must not change its layout (the long-read thread). */
export function readOnlySpec(spec: EventStoreSpec): EventStoreSpec {
  return spec.kind === 'influx' ? { ...spec, options: { ...spec.options, manageLayout: false } } : spec;
}

/**
 * The event store `spec` names, not started. `sqlite` gives the SQLite one when that is the
 * choice: the storage's own (with its writer thread) in the server, a read-only one in the
 * long-read thread. Throws STW_ERR_CONFIG_INVALID for a bad influx URL or option.
 */
export function openEventStore(spec: EventStoreSpec, sqlite: () => EventStore): EventStore {
  return spec.kind === 'influx' ? new InfluxEventStore(spec.url, spec.options) : sqlite();
}
