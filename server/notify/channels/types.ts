/**
 * A notification channel sends one rendered delivery and says what happened. Every channel
 * passes the same contract suite (tests/notify/channel-contract.ts).
 */
import type { DeliveryRecord } from '../outbox-store.ts';
import type { ChannelKind } from '../types.ts';

export type SendResult =
  | { outcome: 'delivered' }
  /** Worth another attempt (timeout, 5xx, 408, 429, connection refused). */
  | { outcome: 'retry'; error: string; retryAfterMs?: number }
  /** Will never work as it is (4xx, forbidden URL, route removed from the config). */
  | { outcome: 'dead'; error: string };

export interface Channel {
  readonly kind: ChannelKind;
  send(delivery: DeliveryRecord): Promise<SendResult>;
  close?(): void;
}
