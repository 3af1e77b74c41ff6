/**
 * The delivery worker: claims due outbox rows, sends each through its channel, and records the
 * outcome. At least once: a row is marked delivered only after its channel confirmed; a crash
 * before that leaves it pending, and its claim lease runs out so the next pass (or the next
 * process) sends it again, with the same Idempotency-Key.
 *
 * Retries use exponential backoff with full jitter (AWS Architecture Blog, "Exponential
 * Backoff And Jitter"): the wait before attempt n+1 is uniform in [0, min(cap, base·2^(n-1))],
 * which spreads a burst of failures (a receiver that was down) instead of retrying in lockstep.
 * After `maxAttempts` failures a delivery is dead: kept, listed by the API, counted in metrics,
 * and retried only when someone asks (POST /api/deliveries/{id}/retry).
 */
import type { Clock } from '../clock.ts';
import type { EventBus } from '../events.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { Channel, SendResult } from './channels/types.ts';
import type { DeliveryRecord, Outbox } from './outbox-store.ts';
import type { ChannelKind } from './types.ts';

export interface DeliveryWorkerOptions {
  outbox: Outbox;
  channels: Partial<Record<ChannelKind, Channel>>;
  clock: Clock;
  /** 'alarm.changed' nudges the worker so a new alarm does not wait for the next poll. */
  bus?: EventBus;
  metrics?: Metrics;
  logger?: Logger;
  /** Dead-letter after this many failed attempts (default 12: ~1 h 20 min at the cap). */
  maxAttempts?: number;
  /** Backoff base and cap, ms (default 1 s and 10 min). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** How often due rows are looked for without a nudge (default 1 s). */
  pollMs?: number;
  /** Rows per pass, sent concurrently (default 20). */
  batchSize?: number;
  /** [0, 1) — injected so tests can pin the jitter. */
  random?: () => number;
  /**
   * How long a claimed row is hidden from other passes (default 60 s). If the process dies
   * mid-send the row falls due again after this; it must exceed the channels' send timeout.
   */
  leaseMs?: number;
}

export const DEFAULT_MAX_ATTEMPTS = 12;

/** Full jitter: uniform in [0, min(cap, base·2^(attempt-1))]. `attempt` counts from 1. */
export function backoffDelay(attempt: number, opts: { baseMs: number; capMs: number; random: () => number }): number {
  const ceiling = Math.min(opts.capMs, opts.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(opts.random() * ceiling);
}

export class DeliveryWorker {
  private readonly maxAttempts: number;
  private readonly baseMs: number;
  private readonly capMs: number;
  private readonly pollMs: number;
  private readonly batchSize: number;
  private readonly random: () => number;
  private cancelPoll: (() => void) | null = null;
  private running = false;
  private pass: Promise<number> | null = null;
  private again = false;
  private readonly onChanged = () => this.nudge();

  constructor(private readonly opts: DeliveryWorkerOptions) {
    this.maxAttempts = opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    this.baseMs = opts.baseDelayMs ?? 1_000;
    this.capMs = opts.maxDelayMs ?? 10 * 60_000;
    this.pollMs = opts.pollMs ?? 1_000;
    this.batchSize = opts.batchSize ?? 20;
    this.random = opts.random ?? Math.random;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.opts.bus?.on('alarm.changed', this.onChanged);
    this.nudge();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.opts.bus?.off('alarm.changed', this.onChanged);
    this.cancelPoll?.();
    this.cancelPoll = null;
    await this.pass;
    for (const ch of Object.values(this.opts.channels)) ch?.close?.();
  }

  /** Run a pass soon (a new delivery was committed, or one was retried by hand). */
  nudge(): void {
    if (!this.running) return;
    // Not through the clock: a nudge is "now", and ManualClock would hold it until advance().
    setImmediate(() => void this.runOnce().catch((err: unknown) => this.opts.logger?.error({ err }, 'delivery pass failed')));
  }

  /**
   * Sends everything due now; resolves with how many deliveries were attempted. A call while a
   * pass runs waits for it and then runs once more, so nothing committed meanwhile is missed.
   */
  async runOnce(): Promise<number> {
    if (this.pass) {
      // The running pass loops once more before it resolves.
      this.again = true;
      return this.pass;
    }
    this.pass = this.loop();
    try {
      return await this.pass;
    } finally {
      this.pass = null;
      // A caller that arrived between the loop's last check and here.
      if (this.again && this.running) this.nudge();
      this.schedulePoll();
    }
  }

  private async loop(): Promise<number> {
    let total = 0;
    do {
      this.again = false;
      const batch = await this.opts.outbox.claimDue(this.opts.clock.now(), this.batchSize, this.opts.leaseMs);
      total += batch.length;
      await Promise.all(batch.map((d) => this.deliver(d)));
      if (batch.length === this.batchSize) this.again = true;
    } while (this.again);
    return total;
  }

  private schedulePoll(): void {
    this.cancelPoll?.();
    this.cancelPoll = null;
    if (!this.running) return;
    this.cancelPoll = this.opts.clock.at(this.opts.clock.now() + this.pollMs, () => {
      this.cancelPoll = null;
      void this.runOnce().catch((err: unknown) => this.opts.logger?.error({ err }, 'delivery pass failed'));
    });
  }

  private async deliver(d: DeliveryRecord): Promise<void> {
    const channel = this.opts.channels[d.channel];
    let result: SendResult;
    if (!channel) {
      result = { outcome: 'dead', error: `no ${d.channel} channel is configured` };
    } else {
      try {
        result = await channel.send(d);
      } catch (err) {
        // A channel bug is not the receiver's fault: retry, and let the error show.
        result = { outcome: 'retry', error: `channel failed: ${(err as Error).message}` };
      }
    }
    const attempts = d.attempts + 1;
    const now = this.opts.clock.now();
    const log = this.opts.logger?.child({ delivery: d.id, alarm: d.alarm, route: d.route, channel: d.channel });
    let outcome = result.outcome;
    if (result.outcome === 'delivered') {
      await this.opts.outbox.markDelivered(d.id, attempts, now);
      log?.debug({ attempts }, 'delivered');
    } else if (result.outcome === 'dead' || attempts >= this.maxAttempts) {
      outcome = 'dead';
      await this.opts.outbox.markDead(d.id, attempts, result.error);
      log?.warn({ attempts, error: result.error }, 'delivery dead-lettered');
    } else {
      let delay = backoffDelay(attempts, { baseMs: this.baseMs, capMs: this.capMs, random: this.random });
      if (result.retryAfterMs !== undefined) delay = Math.min(this.capMs, Math.max(delay, result.retryAfterMs));
      await this.opts.outbox.markRetry(d.id, attempts, now + delay, result.error);
      log?.info({ attempts, delay, error: result.error }, 'delivery failed, will retry');
    }
    this.opts.metrics?.deliveries.inc({ channel: d.channel, outcome });
  }
}
