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
    for (const alarm of this.opts.alarms.open()) this.track(alarm);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.opts.bus.on('alarm.changed', this.onChanged);
    for (const alarm of this.opts.alarms.open()) this.track(alarm);
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
    const cancel = this.opts.clock.at(due, () => this.fire(alarm.id, next));
    this.timers.set(alarm.id, { level: next, cancel });
  }

  private fire(id: string, level: number): void {
    this.timers.delete(id);
    if (!this.running) return;
    try {
      const at = new Date(this.opts.clock.now()).toISOString();
      const alarm = this.opts.alarms.escalate(id, level, at);
      this.opts.logger?.info({ alarm: id, level, escalated: alarm !== null }, 'escalation due');
      // The service announces the change on the bus too; tracking here as well keeps the
      // next level scheduled even if it does not.
      if (alarm) this.track(alarm);
    } catch (err) {
      this.opts.logger?.error({ err, alarm: id, level }, 'escalation failed');
      const alarm = this.opts.alarms.get(id);
      if (alarm) this.track(alarm);
    }
  }
}
