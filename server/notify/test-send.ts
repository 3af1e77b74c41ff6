/**
 * A test message through one route, now: rendered in the route's language and preset (it says
 * plainly that it is a test), sent once through the route's channel with its signature and the
 * SSRF guard, and the receiver's answer reported back. It does not go through the outbox: the
 * person who asked is waiting for the answer, and a test that failed is not worth retrying.
 */
import type { Localized } from '../sites/model.ts';
import type { EmailChannel } from './channels/email.ts';
import type { WebhookChannel } from './channels/webhook.ts';
import type { NotifyConfig, Route } from './config.ts';
import { renderTestPayload } from './render.ts';

export interface TestSendResult {
  delivered: boolean;
  /** The receiver's HTTP status, or the SMTP reply code; null when no answer came. */
  status: number | null;
  /** Why it was not delivered (URLs without their secrets). */
  error?: string;
}

export interface RouteTesterOptions {
  config: () => NotifyConfig;
  webhook: Pick<WebhookChannel, 'attempt'>;
  email: Pick<EmailChannel, 'attempt'>;
  /** The time zone messages of a site use (RoutePlanner#timezone). */
  timezone: (site: string) => string;
  siteName: (site: string) => Localized | undefined;
  publicUrl?: string;
  now: () => number;
}

/** The route declared under `site` ('*' or a site id) in the config, not one inherited from '*'. */
export function declaredRoute(config: NotifyConfig, site: string, id: string): Route | undefined {
  return config.data.sites[site]?.routes.find((r) => r.id === id);
}

export class RouteTester {
  constructor(private readonly opts: RouteTesterOptions) {}

  /** Undefined when the config in force has no such route. */
  async send(site: string, id: string, by: string): Promise<TestSendResult | undefined> {
    const route = declaredRoute(this.opts.config(), site, id);
    if (!route) return undefined;
    const now = this.opts.now();
    const payload = renderTestPayload({
      route,
      site,
      siteName: site === '*' ? undefined : this.opts.siteName(site),
      timezone: this.opts.timezone(site),
      now,
      by,
      publicUrl: this.opts.publicUrl,
    });
    // Unique per test: a receiver that drops repeats by key must not drop the second test.
    const delivery = { payload, idempotencyKey: `test:${site}:${route.id}:${now}` };
    const { result, status } = route.channel === 'webhook' ? await this.opts.webhook.attempt(route, delivery) : await this.opts.email.attempt(delivery);
    return result.outcome === 'delivered' ? { delivered: true, status } : { delivered: false, status, error: result.error };
  }
}
