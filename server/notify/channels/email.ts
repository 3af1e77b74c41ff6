/**
 * Email channel: nodemailer over SMTP with the config's `smtp` section. The Idempotency-Key
 * travels as the Message-ID (stable across retries), so mail clients thread or drop repeats.
 *
 * Outcome: accepted by the server = delivered; a permanent SMTP failure (5xx reply, every
 * recipient rejected) = dead; anything else (connection, timeout, 4xx) = retry.
 */
import nodemailer, { type Transporter } from 'nodemailer';
import type { NotifyConfig } from '../config.ts';
import type { DeliveryRecord } from '../outbox-store.ts';
import type { Channel, SendResult } from './types.ts';

export interface EmailPayload {
  to: string[];
  subject: string;
  text: string;
  html: string;
}

function isEmailPayload(p: unknown): p is EmailPayload {
  const o = p as Partial<EmailPayload> | null;
  return typeof o === 'object' && o !== null && Array.isArray(o.to) && typeof o.subject === 'string' && typeof o.text === 'string';
}

export class EmailChannel implements Channel {
  readonly kind = 'email' as const;
  private transport: Transporter | null = null;

  constructor(private readonly opts: { config: NotifyConfig; timeoutMs?: number }) {}

  private transporter(): Transporter | null {
    const smtp = this.opts.config.smtp;
    if (!smtp) return null;
    const timeout = this.opts.timeoutMs ?? 30_000;
    this.transport ??= nodemailer.createTransport({
      host: smtp.host,
      port: smtp.port,
      secure: smtp.secure,
      auth: smtp.auth,
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
    });
    return this.transport;
  }

  async send(delivery: DeliveryRecord): Promise<SendResult> {
    const transport = this.transporter();
    const smtp = this.opts.config.smtp;
    if (!transport || !smtp) return { outcome: 'dead', error: 'no smtp section in the notify config' };
    if (!isEmailPayload(delivery.payload)) return { outcome: 'dead', error: 'payload is not an email' };
    const p = delivery.payload;
    try {
      const info = await transport.sendMail({
        from: smtp.from,
        to: p.to,
        subject: p.subject,
        text: p.text,
        html: p.html,
        messageId: `<${delivery.idempotencyKey.replace(/[^A-Za-z0-9._-]/g, '.')}@storetwin>`,
        headers: { 'X-StoreTwin-Idempotency-Key': delivery.idempotencyKey },
      });
      if ((info.accepted ?? []).length === 0) return { outcome: 'dead', error: `every recipient was rejected: ${(info.rejected ?? []).join(', ')}` };
      return { outcome: 'delivered' };
    } catch (err) {
      const e = err as Error & { responseCode?: number };
      const error = `SMTP: ${e.message}`.slice(0, 500);
      return typeof e.responseCode === 'number' && e.responseCode >= 500 ? { outcome: 'dead', error } : { outcome: 'retry', error };
    }
  }

  close(): void {
    this.transport?.close();
    this.transport = null;
  }
}
