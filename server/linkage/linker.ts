/**
 * Door–camera linkage (门磁与摄像头联动): "send now, enrich later". When an alarm is raised in a
 * zone, the cameras watching that zone are asked for a snapshot over MQTT (`{id, cmd:
 * 'snapshot', alarm}` on their cmd topic); the first JPEG answering that command id is stored
 * (SnapshotStore) and attached to the alarm, which the alarm service then announces again
 * everywhere (live feed, outbox). The alarm itself is never held back: the linker reacts to
 * `alarm.changed` after it was committed and announced.
 *
 * Snapshot status on the alarm: `pending` (asked) → `attached`, or `failed` when no picture
 * came within the timeout (default 5 s), or `none` with a reason when no camera watches the
 * zone or every one of them is offline. A picture arriving late (within `lateMs` after the
 * timeout) is still attached.
 */
import { randomBytes } from 'node:crypto';
import { deviceTypeHas } from '../../devices/index.ts';
import type { Alarm, AlarmActions, Severity, SnapshotStatus } from '../alarms/types.ts';
import { systemClock, type Clock } from '../clock.ts';
import type { EventBus, ServerEvents } from '../events.ts';
import type { Logger } from '../observability/logger.ts';
import type { Placement, Site } from '../sites/model.ts';
import type { DeviceRecord } from '../storage/types.ts';
import type { SnapshotStore } from './snapshot-store.ts';

export interface SnapshotLinkerDeps {
  bus: EventBus;
  alarms: Pick<AlarmActions, 'attachSnapshot'>;
  /** The site catalogue (placements with `watches`). */
  sites: { get(siteId: string): Site | undefined };
  /** Registered devices (cameras registered in the zone; whether a placed camera is registered and enabled). */
  registry: { devicesOfSite(site: string): DeviceRecord[]; getDevice(id: string): DeviceRecord | null };
  /** Publishes a command on the device's cmd topic: Broker.sendCommand. */
  sendCommand: (site: string, device: string, command: Record<string, unknown>) => Promise<void>;
  store: SnapshotStore;
  /** Whether a camera can take a command now: Broker.isConnected. Default: always. */
  isOnline?: (device: string) => boolean;
  clock?: Clock;
  logger?: Logger;
  /** How long to wait for the picture (default 5000 ms). */
  timeoutMs?: number;
  /** How long after the timeout a late picture is still attached (default 60 s). */
  lateMs?: number;
  /** Cameras asked per alarm, online first (default 3); the first answer wins. */
  maxCameras?: number;
  /**
   * Alarms worth a picture (default critical, major, warning). A low battery or other minor
   * maintenance alarm does not wake the cameras.
   */
  severities?: readonly Severity[];
}

const PICTURE_SEVERITIES: readonly Severity[] = ['critical', 'major', 'warning'];

interface Pending {
  alarmId: string;
  site: string;
  cameras: Set<string>;
  requestedAt: number;
  timedOut: boolean;
  cancel: () => void;
}

type AlarmChange = ServerEvents['alarm.changed'][0];
type SnapshotReceived = ServerEvents['snapshot.received'][0];

export class SnapshotLinker {
  private readonly clock: Clock;
  private readonly pending = new Map<string, Pending>();
  private started = false;
  private readonly onAlarm = (change: AlarmChange) => this.handleAlarm(change);
  private readonly onSnapshot = (snap: SnapshotReceived) => void this.handleSnapshot(snap);

  constructor(private readonly deps: SnapshotLinkerDeps) {
    this.clock = deps.clock ?? systemClock;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.deps.bus.on('alarm.changed', this.onAlarm);
    this.deps.bus.on('snapshot.received', this.onSnapshot);
  }

  stop(): void {
    this.started = false;
    this.deps.bus.off('alarm.changed', this.onAlarm);
    this.deps.bus.off('snapshot.received', this.onSnapshot);
    for (const p of this.pending.values()) p.cancel();
    this.pending.clear();
  }

  /** Command ids waiting for a picture (for tests and /metrics). */
  pendingCount(): number {
    return this.pending.size;
  }

  /**
   * The cameras watching a zone: devices whose type takes snapshots (capability `snapshot`),
   * placed with `watches` naming the zone or registered in it.
   */
  camerasFor(site: string, zone: string): string[] {
    const ids = new Set<string>();
    const placements: readonly Placement[] = this.deps.sites.get(site)?.devices ?? [];
    for (const p of placements) if (deviceTypeHas(p.type, 'snapshot') && p.watches.includes(zone)) ids.add(p.id);
    for (const d of this.deps.registry.devicesOfSite(site)) {
      if (deviceTypeHas(d.type, 'snapshot') && d.zone === zone) ids.add(d.id);
    }
    return [...ids];
  }

  private handleAlarm({ alarm, action }: AlarmChange): void {
    if (!this.started || alarm.zone === null || alarm.state === 'cleared') return;
    if (!(this.deps.severities ?? PICTURE_SEVERITIES).includes(alarm.severity)) return;
    const wanted = action === 'raised' || (action === 'repeated' && alarm.snapshot === null);
    if (!wanted) return;
    // After the current emit: every listener first sees the alarm as raised, then its
    // snapshot status (attachSnapshot announces a new alarm.changed synchronously).
    queueMicrotask(() => this.request(alarm));
  }

  private request(alarm: Alarm): void {
    const zone = alarm.zone!;
    const now = this.clock.now();
    const at = new Date(now).toISOString();
    const watching = this.camerasFor(alarm.site, zone);
    if (watching.length === 0) {
      this.attach(alarm.id, { status: 'none', reason: `no camera watches zone ${zone}` }, at);
      return;
    }
    const usable = watching.filter((id) => {
      const rec = this.deps.registry.getDevice(id);
      return rec !== null && rec.enabled && rec.site === alarm.site;
    });
    const online = usable.filter((id) => this.deps.isOnline?.(id) ?? true);
    if (online.length === 0) {
      const reason = usable.length === 0 ? `camera ${watching.join(', ')} is not registered or disabled` : `camera ${usable.join(', ')} is offline`;
      this.attach(alarm.id, { status: 'none', reason }, at);
      return;
    }
    const cameras = online.slice(0, this.deps.maxCameras ?? 3);
    // A topic level (`snapshot/{id}`): [A-Za-z0-9_.:-]{1,64}.
    const id = `snap-${now.toString(36)}-${randomBytes(6).toString('hex')}`;
    const timeoutMs = this.deps.timeoutMs ?? 5000;
    const entry: Pending = {
      alarmId: alarm.id,
      site: alarm.site,
      cameras: new Set(cameras),
      requestedAt: now,
      timedOut: false,
      cancel: () => {},
    };
    entry.cancel = this.clock.at(now + timeoutMs, () => this.timeout(id, entry, timeoutMs));
    this.pending.set(id, entry);
    // Pending before the command goes out, so a fast answer cannot be overwritten by it.
    this.attach(alarm.id, { status: 'pending', requestedAt: at, camera: cameras[0]! }, at);
    for (const camera of cameras) {
      this.deps.sendCommand(alarm.site, camera, { id, cmd: 'snapshot', alarm: alarm.id }).catch((err: unknown) => {
        this.deps.logger?.warn({ err, camera, alarm: alarm.id }, 'snapshot command could not be sent');
        entry.cameras.delete(camera);
        if (entry.cameras.size === 0 && this.pending.get(id) === entry) {
          this.finish(id, entry);
          const reason = err instanceof Error ? err.message : String(err);
          this.attach(alarm.id, { status: 'failed', camera, reason: `command not sent: ${reason}` }, new Date(this.clock.now()).toISOString());
        }
      });
    }
  }

  private timeout(id: string, entry: Pending, timeoutMs: number): void {
    if (this.pending.get(id) !== entry) return;
    entry.timedOut = true;
    const [camera] = entry.cameras;
    this.attach(entry.alarmId, { status: 'failed', camera: camera ?? 'unknown', reason: `no picture within ${timeoutMs} ms` }, new Date(this.clock.now()).toISOString());
    // Keep listening a while: a late picture still enriches the alarm.
    entry.cancel = this.clock.at(this.clock.now() + (this.deps.lateMs ?? 60_000), () => this.finish(id, entry));
  }

  private finish(id: string, entry: Pending): void {
    entry.cancel();
    if (this.pending.get(id) === entry) this.pending.delete(id);
  }

  private async handleSnapshot(snap: SnapshotReceived): Promise<void> {
    const entry = this.pending.get(snap.commandId);
    // Unsolicited, from another site's camera, or already answered by another camera: ignored.
    if (!entry || entry.site !== snap.site || !entry.cameras.has(snap.device)) return;
    this.finish(snap.commandId, entry);
    try {
      const rec = await this.deps.store.put({ site: snap.site, camera: snap.device, jpeg: snap.jpeg, takenAt: Date.parse(snap.at) || this.clock.now() });
      this.attach(entry.alarmId, { status: 'attached', id: rec.id, camera: snap.device, at: snap.at, url: `/api/snapshots/${rec.id}` }, snap.at);
      this.deps.logger?.debug({ alarm: entry.alarmId, camera: snap.device, ms: this.clock.now() - entry.requestedAt }, 'snapshot attached');
    } catch (err) {
      this.deps.logger?.error({ err, alarm: entry.alarmId }, 'snapshot could not be stored');
      const reason = err instanceof Error ? err.message : String(err);
      this.attach(entry.alarmId, { status: 'failed', camera: snap.device, reason: `not stored: ${reason}` }, snap.at);
    }
  }

  /** Queued on the alarm service in call order, so `pending` is recorded before what follows it. */
  private attach(alarmId: string, status: SnapshotStatus, at: string): void {
    const failed = (err: unknown): void => this.deps.logger?.error({ err, alarm: alarmId, status: status.status }, 'snapshot status could not be recorded');
    try {
      this.deps.alarms.attachSnapshot(alarmId, status, at).catch(failed);
    } catch (err) {
      failed(err);
    }
  }
}
