/**
 * The notification config: `<dataDir>/notify.yaml` (optional; without it nothing is sent but
 * the live feed). Validated once at start with every problem reported at once, like the main
 * config and the site files.
 *
 * Shape:
 *   sites:            per site id, or '*' for every site
 *     <site>:
 *       timezone?:    IANA zone for `hours` (default: the site model's zone)
 *       routes:       who hears about an alarm (webhook or email), by severity and on-call hours
 *       escalation?:  { levels: [{ afterMinutes, routes }] } — levels[0] is escalation level 1
 *   smtp?:            { host, port, secure, auth?, from } for email routes
 *   allowPrivateNetworks: CIDRs or host names exempt from the SSRF guard
 *
 * A site hears from its own routes plus the '*' routes; its own escalation replaces '*'s.
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { load as loadYaml } from 'js-yaml';
import { z } from 'zod';
import { SEVERITIES, type Severity } from '../alarms/types.ts';
import { StoreTwinError } from '../errors.ts';
import { scheduleWindowSchema } from '../sites/model.ts';

export const WEBHOOK_PRESETS = ['generic', 'wecom', 'dingtalk', 'feishu', 'slack'] as const;
export type WebhookPreset = (typeof WEBHOOK_PRESETS)[number];
export const LANGUAGES = ['zh-CN', 'en'] as const;
export type Language = (typeof LANGUAGES)[number];

const routeId = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'must be lowercase letters, digits, ".", "_" and "-"');

const routeCommon = {
  id: routeId,
  /** Absent = every severity. */
  severities: z.array(z.enum(SEVERITIES)).min(1).default([...SEVERITIES]),
  /** On-call windows in site-local time; absent = always. */
  hours: z.array(scheduleWindowSchema).min(1).optional(),
  language: z.enum(LANGUAGES).default('zh-CN'),
};

const httpUrl = z
  .string()
  .url()
  .refine((u) => /^https?:$/.test(new URL(u).protocol), 'must be an http:// or https:// URL');

export const webhookRouteSchema = z.strictObject({
  ...routeCommon,
  channel: z.literal('webhook'),
  url: httpUrl,
  preset: z.enum(WEBHOOK_PRESETS).default('generic'),
  /** generic: HMAC-SHA256 key for X-StoreTwin-Signature; dingtalk/feishu: the bot's signing secret. */
  secret: z.string().min(1).optional(),
});

export const emailRouteSchema = z.strictObject({
  ...routeCommon,
  channel: z.literal('email'),
  to: z.array(z.email()).min(1),
});

export const routeSchema = z.discriminatedUnion('channel', [webhookRouteSchema, emailRouteSchema]);
export type WebhookRoute = z.infer<typeof webhookRouteSchema>;
export type EmailRoute = z.infer<typeof emailRouteSchema>;
export type Route = z.infer<typeof routeSchema>;

export const escalationSchema = z.strictObject({
  levels: z
    .array(z.strictObject({ afterMinutes: z.number().positive(), routes: z.array(routeId).min(1) }))
    .default([]),
});
export type Escalation = z.infer<typeof escalationSchema>;

const siteNotifySchema = z.strictObject({
  timezone: z.string().min(1).optional(),
  routes: z.array(routeSchema).default([]),
  escalation: escalationSchema.optional(),
});

export const smtpSchema = z.strictObject({
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535).default(587),
  /** true = TLS from the first byte (port 465); false = STARTTLS when the server offers it. */
  secure: z.boolean().default(false),
  auth: z.strictObject({ user: z.string().min(1), pass: z.string() }).optional(),
  from: z.string().min(3),
});
export type SmtpConfig = z.infer<typeof smtpSchema>;

const siteKey = z.string().regex(/^(\*|[a-z0-9][a-z0-9-]{0,62})$/, "must be a site id or '*'");

function validTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** A CIDR (v4 or v6) or a host name. */
function validAllowEntry(entry: string): boolean {
  const [addr, bits, ...rest] = entry.split('/');
  if (rest.length > 0 || addr === undefined) return false;
  if (bits === undefined) return isIP(addr) !== 0 || /^[a-z0-9.-]+$/i.test(addr);
  const family = isIP(addr);
  const n = Number(bits);
  return family !== 0 && Number.isInteger(n) && n >= 0 && n <= (family === 4 ? 32 : 128);
}

export const notifyConfigSchema = z
  .strictObject({
    sites: z.record(siteKey, siteNotifySchema).default({}),
    smtp: smtpSchema.optional(),
    allowPrivateNetworks: z.array(z.string().refine(validAllowEntry, 'must be a CIDR (10.0.0.0/8), an IP or a host name')).default([]),
  })
  .superRefine((cfg, ctx) => {
    const shared = cfg.sites['*']?.routes ?? [];
    for (const [site, sc] of Object.entries(cfg.sites)) {
      const seen = new Set<string>(site === '*' ? [] : shared.map((r) => r.id));
      sc.routes.forEach((r, i) => {
        if (seen.has(r.id)) ctx.addIssue({ code: 'custom', path: ['sites', site, 'routes', i, 'id'], message: `duplicate route id "${r.id}" (ids are shared with the '*' routes)` });
        seen.add(r.id);
        if (r.channel === 'email' && !cfg.smtp) ctx.addIssue({ code: 'custom', path: ['sites', site, 'routes', i], message: 'an email route needs the smtp section' });
        if (r.channel === 'webhook' && r.secret && (r.preset === 'wecom' || r.preset === 'slack')) {
          ctx.addIssue({ code: 'custom', path: ['sites', site, 'routes', i, 'secret'], message: `the ${r.preset} preset has no signing scheme; the secret is its URL` });
        }
      });
      if (sc.timezone !== undefined && !validTimezone(sc.timezone)) {
        ctx.addIssue({ code: 'custom', path: ['sites', site, 'timezone'], message: `unknown time zone "${sc.timezone}"` });
      }
      let last = 0;
      sc.escalation?.levels.forEach((lvl, i) => {
        if (lvl.afterMinutes <= last) ctx.addIssue({ code: 'custom', path: ['sites', site, 'escalation', 'levels', i, 'afterMinutes'], message: 'must be greater than the previous level' });
        last = lvl.afterMinutes;
        lvl.routes.forEach((id, j) => {
          if (!seen.has(id)) ctx.addIssue({ code: 'custom', path: ['sites', site, 'escalation', 'levels', i, 'routes', j], message: `no route "${id}" for this site` });
        });
      });
    }
  });

export type NotifyConfigInput = z.input<typeof notifyConfigSchema>;
export type NotifyConfigData = z.output<typeof notifyConfigSchema>;

/** The validated config with the lookups the planner, channels and escalator need. */
export class NotifyConfig {
  constructor(readonly data: NotifyConfigData) {}

  static empty(): NotifyConfig {
    return new NotifyConfig(notifyConfigSchema.parse({}));
  }

  /** The site's own routes plus the '*' routes. */
  routes(site: string): Route[] {
    const shared = this.data.sites['*']?.routes ?? [];
    const own = site === '*' ? [] : (this.data.sites[site]?.routes ?? []);
    return [...shared, ...own];
  }

  route(site: string, id: string): Route | undefined {
    return this.routes(site).find((r) => r.id === id);
  }

  /** Escalation levels 1..n (index 0 = level 1). */
  escalation(site: string): Escalation['levels'] {
    return (this.data.sites[site]?.escalation ?? this.data.sites['*']?.escalation)?.levels ?? [];
  }

  timezone(site: string): string | undefined {
    return this.data.sites[site]?.timezone ?? this.data.sites['*']?.timezone;
  }

  get smtp(): SmtpConfig | undefined {
    return this.data.smtp;
  }

  get allowPrivateNetworks(): readonly string[] {
    return this.data.allowPrivateNetworks;
  }
}

export function parseNotifyConfig(input: unknown, source = 'notify config'): NotifyConfig {
  const result = notifyConfigSchema.safeParse(input ?? {});
  if (!result.success) {
    throw new StoreTwinError('STW_ERR_NOTIFY_CONFIG_INVALID', `${source} is invalid:\n${z.prettifyError(result.error)}`, result.error.issues);
  }
  return new NotifyConfig(result.data);
}

/** Reads `<dataDir>/notify.yaml`; a missing file is an empty config (nothing sent). */
export async function loadNotifyConfig(dataDir: string): Promise<NotifyConfig> {
  const file = join(dataDir, 'notify.yaml');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return NotifyConfig.empty();
    throw new StoreTwinError('STW_ERR_NOTIFY_CONFIG_INVALID', `cannot read ${file}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = loadYaml(text);
  } catch (err) {
    throw new StoreTwinError('STW_ERR_NOTIFY_CONFIG_INVALID', `${file}: ${(err as Error).message}`);
  }
  return parseNotifyConfig(parsed, file);
}

export type { Severity };
