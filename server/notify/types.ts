/**
 * Notifications: alarm changes become deliveries in an outbox table written in the same
 * transaction as the change (server/alarms/service.ts), then a worker delivers them at least
 * once, with retries, to webhook and email channels. The live channel (socket.io) is not in
 * the outbox: it shows current state, not a message that must arrive.
 */
import type { Alarm, AlarmAction } from '../alarms/types.ts';

export type ChannelKind = 'webhook' | 'email';

export interface NewDelivery {
  /** Stable across retries and restarts; sent with the delivery so receivers can drop repeats. */
  idempotencyKey: string;
  alarm: string;
  site: string;
  channel: ChannelKind;
  /** Route id from the notify config. */
  route: string;
  /** What the channel sends, already rendered (JSON body, or {to, subject, text, html}). */
  payload: unknown;
  /** Unix ms; now for immediate delivery. */
  nextAttemptAt: number;
}

/** Decides who hears about an alarm change (routes by site, severity, time of day, escalation level). */
export interface DeliveryPlanner {
  plan(alarm: Alarm, action: AlarmAction, opts: PlanOptions): NewDelivery[];
}

export interface PlanOptions {
  level: number;
  now: number;
  /**
   * Routes that already have a delivery for the alarm, read by the alarm service before it
   * plans (the planner itself never reads storage): a follow-up goes to the same people.
   */
  notified?: readonly string[];
}
