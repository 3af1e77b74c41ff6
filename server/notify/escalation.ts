/**
 * Escalation timers: an open, unacknowledged alarm reaches level n at
 * firstAt + levels[n-1].afterMinutes (the site's escalation policy), and the alarm service
 * writes that level's deliveries in the same transaction. Acknowledging or clearing cancels.
 *
 * Timers are not persisted: they are rebuilt from the open alarms at start (a level that fell
 * due while the process was down fires at once), because an alarm's firstAt and escalation
 * level are already durable in the alarms table.
 */
import type { AlarmActions, Alarm } from '../alarms/types.ts';
import type { Clock } from '../clock.ts';
import type { EventBus } from '../events.ts';
import type { Logger } from '../observability/logger.ts';
import type { NotifyConfig } from './config.ts';

export interface EscalatorOptions {
  alarms: Pick<AlarmActions, 'escalate' | 'open' | 'get'>;
  config: NotifyConfig;
  bus: EventBus;
  clock: Clock;
  logger?: Logger;
}

export class Escalator {
  private readonly timers = new Map<string, { level: number; cancel: () => void }>();
  /** Reads of the open alarms and escalations under way (settled()). */
  private readonly inFlight = new Set<Promise<void>>();
  private running = false;
  private readonly onChanged = ({ alarm }: { alarm: Alarm }) => this.track(alarm);
  private config: NotifyConfig;

  constructor(private readonly opts: EscalatorOptions) {
    this.config = opts.config;
  }

  /**
   * Escalates by `config`'s policies from now on (notify.yaml was reloaded): every open alarm's
   * next level is scheduled again, so a changed `afterMinutes` or a removed level takes effect
   * for alarms already waiting too.
   */
  setConfig(config: NotifyConfig): void {
    this.config = config;
    if (!this.running) return;
    for (const t of this.timers.values()) t.cancel();
    this.timers.clear();
    void this.trackOpen();
  }

  /**
   * Schedules from the open alarms (resolves once they are read). Changes announced meanwhile
   * are tracked as they come; an older copy read here may schedule a level that has become
   * moot, and escalate() then refuses it (the alarm is no longer active).
   */
  start(): Promise<void> {
    if (this.running) return Promise.resolve();
    this.running = true;
    this.opts.bus.on('alarm.changed', this.onChanged);
    return this.trackOpen();
  }

  private trackOpen(): Promise<void> {
    return this.follow(
      this.opts.alarms.open().then(
        (alarms) => {
          for (const alarm of alarms) this.track(alarm);
        },
        (err: unknown) => this.opts.logger?.error({ err }, 'reading open alarms for escalation failed'),
      ),
    );
  }

  /** `work` never rejects; it is kept until done so settled() can wait for it. */
  private follow(work: Promise<void>): Promise<void> {
    this.inFlight.add(work);
    const done = (): void => void this.inFlight.delete(work);
    work.then(done, done);
    return work;
  }

  /** Resolves once the reads and escalations started so far (and any they started) are done. */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  stop(): void {
    this.running = false;
    this.opts.bus.off('alarm.changed', this.onChanged);
    for (const t of this.timers.values()) t.cancel();
    this.timers.clear();
  }

  /** Alarm ids with a pending escalation and the level it will reach (for tests and the console). */
  pending(): Map<string, number> {
    return new Map([...this.timers].map(([id, t]) => [id, t.level]));
  }

  /** (Re)schedules the alarm's next level, or cancels when it is acknowledged or cleared. */
  track(alarm: Alarm): void {
    if (!this.running) return;
    const next = alarm.escalationLevel + 1;
    const level = this.config.escalation(alarm.site)[next - 1];
    const existing = this.timers.get(alarm.id);
    if (alarm.state !== 'active' || !level) {
      existing?.cancel();
      this.timers.delete(alarm.id);
      return;
    }
    if (existing?.level === next) return;
    existing?.cancel();
    const due = Date.parse(alarm.firstAt) + level.afterMinutes * 60_000;
    const cancel = this.opts.clock.at(due, () => void this.follow(this.fire(alarm.id, next)));
    this.timers.set(alarm.id, { level: next, cancel });
  }

  private async fire(id: string, level: number): Promise<void> {
    this.timers.delete(id);
    if (!this.running) return;
    try {
      const at = new Date(this.opts.clock.now()).toISOString();
      const alarm = await this.opts.alarms.escalate(id, level, at);
      this.opts.logger?.info({ alarm: id, level, escalated: alarm !== null }, 'escalation due');
      // The service announces the change on the bus too; tracking here as well keeps the
      // next level scheduled even if it does not.
      if (alarm) this.track(alarm);
    } catch (err) {
      this.opts.logger?.error({ err, alarm: id, level }, 'escalation failed');
      const alarm = await this.opts.alarms.get(id).catch(() => null);
      if (alarm) this.track(alarm);
    }
  }
}
