/**
 * The in-process event map: what each stage announces to the stages after it. Data flows one
 * way (broker → ingest → twin → storage / rules → alarms → notify / live); a stage subscribes
 * to the events of stages before it and never calls back up the stream.
 */
import { EventEmitter } from 'node:events';
import type { DeviceEvent } from '../devices/types.ts';
import type { NewEvent } from './storage/types.ts';
import type { DeviceState, ZoneState } from './twin/types.ts';
import type { PublicDevice } from './registry/types.ts';
import type { Alarm, AlarmAction, AlarmTrigger } from './alarms/types.ts';

export interface Rejection {
  site: string | null;
  device: string | null;
  code: string;
  message: string;
  at: string;
}

export interface ServerEvents {
  /** Registry: a device was registered, changed or removed (API, CLI, demo seeding). */
  'device.registered': [device: PublicDevice];
  'device.updated': [device: PublicDevice];
  'device.removed': [device: PublicDevice];
  /** Broker: a device came online or went offline (status topic, LWT or disconnect). */
  'device.status': [status: { site: string; device: string; online: boolean; at: string }];
  /**
   * Ingest: events decoded, validated and deduplicated, in arrival order, once per turn, while
   * their commit runs (ingest.ts, announce()): the twin and the rules do not wait for the disk.
   */
  'events.accepted': [events: readonly NewEvent[]];
  /** Ingest: a payload refused (malformed, schema, checksum…). */
  'ingest.rejected': [rejection: Rejection];
  /** Ingest: a camera answered a command with a snapshot (JPEG bytes). */
  'snapshot.received': [snapshot: { site: string; device: string; commandId: string; jpeg: Buffer; at: string }];
  /** Twin: typed state changes for later stages (rules, live feed). */
  'twin.device': [change: { state: DeviceState; changed: ReadonlyArray<keyof DeviceState> }];
  'twin.zone': [change: { state: ZoneState; changed: ReadonlyArray<keyof ZoneState> }];
  /** Rules: a rule's condition holds for a source (raise or repeat an alarm)… */
  'rule.triggered': [trigger: AlarmTrigger];
  /** …or has stopped holding (auto-clear). */
  'rule.resolved': [resolved: { site: string; rule: string; source: string; at: string }];
  /** Alarms: every lifecycle change, after its transaction committed. */
  'alarm.changed': [change: { alarm: Alarm; action: AlarmAction }];
  /** Arming: a zone's manual arming changed (schedules are evaluated by readers). */
  'zone.arming': [change: { site: string; zone: string; armed: boolean; by: string; at: string }];
}

export type { DeviceEvent };

/**
 * A typed EventEmitter over ServerEvents, one per app instance (never a global). A listener
 * that throws is reported to `onListenerError` and does not stop the other listeners or the
 * stage that emitted: a bug in the live feed must not fail an ingest commit.
 */
export class EventBus extends EventEmitter<ServerEvents> {
  onListenerError: (err: unknown, event: string) => void = (err, event) => {
    console.error(`listener for ${event} failed`, err);
  };

  constructor() {
    super();
    // Every stage subscribes once per event; more than a handful of listeners means a leak.
    this.setMaxListeners(50);
  }

  override emit<K extends keyof ServerEvents>(event: K, ...args: ServerEvents[K]): boolean {
    const listeners = this.rawListeners(event as keyof ServerEvents) as Array<(...a: ServerEvents[K]) => void>;
    // rawListeners: calling a once() wrapper also removes it, as EventEmitter#emit does.
    for (const listener of listeners) {
      try {
        listener(...args);
      } catch (err) {
        this.onListenerError(err, event);
      }
    }
    return listeners.length > 0;
  }
}
