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
  private config: NotifyConfig;
  private transport: Transporter | null = null;

  constructor(private readonly opts: { config: NotifyConfig; timeoutMs?: number }) {
    this.config = opts.config;
  }

  /** Sends with `config`'s smtp section from now on (notify.yaml was reloaded). */
  setConfig(config: NotifyConfig): void {
    const changed = JSON.stringify(config.smtp) !== JSON.stringify(this.config.smtp);
    this.config = config;
    // A mail being sent keeps its transport; the next one opens a new one with the new server.
    if (changed) this.close();
  }

  private transporter(): Transporter | null {
    const smtp = this.config.smtp;
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
    return (await this.attempt(delivery)).result;
  }

  /** One mail now, and the SMTP reply code (null when no reply came); send() and the routes API's test send use it. */
  async attempt(delivery: Pick<DeliveryRecord, 'payload' | 'idempotencyKey'>): Promise<{ result: SendResult; status: number | null }> {
    const transport = this.transporter();
    const smtp = this.config.smtp;
    if (!transport || !smtp) return { result: { outcome: 'dead', error: 'no smtp section in the notify config' }, status: null };
    if (!isEmailPayload(delivery.payload)) return { result: { outcome: 'dead', error: 'payload is not an email' }, status: null };
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
      const status = replyCode(info.response);
      if ((info.accepted ?? []).length === 0) return { result: { outcome: 'dead', error: `every recipient was rejected: ${(info.rejected ?? []).join(', ')}` }, status };
      return { result: { outcome: 'delivered' }, status };
    } catch (err) {
      const e = err as Error & { responseCode?: number };
      const error = `SMTP: ${e.message}`.slice(0, 500);
      const status = typeof e.responseCode === 'number' ? e.responseCode : null;
      return { result: status !== null && status >= 500 ? { outcome: 'dead', error } : { outcome: 'retry', error }, status };
    }
  }

  close(): void {
    this.transport?.close();
    this.transport = null;
  }
}

/** "250 2.0.0 Ok: queued" → 250. */
function replyCode(response: unknown): number | null {
  const m = typeof response === 'string' ? /^(\d{3})\b/.exec(response) : null;
  return m ? Number(m[1]) : null;
}
