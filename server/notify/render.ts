/**
 * Renders an alarm change for one route: the body each webhook preset expects, or an email,
 * in the route's language. Rendering happens when the delivery is planned (inside the alarm
 * transaction), so a retry sends exactly what was first tried.
 *
 * Chat bodies follow each platform's documented incoming-bot format:
 * - WeCom 企业微信群机器人: `{msgtype: 'markdown', markdown: {content}}` (content ≤ 4096 bytes)
 * - DingTalk 钉钉自定义机器人: `{msgtype: 'markdown', markdown: {title, text}}`
 * - Feishu 飞书自定义机器人: `{msg_type: 'interactive', card}` for alarms, `{msg_type: 'text',
 *   content: {text}}` for follow-ups (acknowledged, cleared)
 * - Slack incoming webhook: `{text, blocks}` (text is the notification fallback)
 *
 * Values that come from outside the code — the alarm message (rule templates filled with
 * site, zone and device names from site files and the registry), site, zone and device ids,
 * usernames — are escaped for the markup they land in (`escapeMarkdown`, `escapeSlackMrkdwn`)
 * before they are placed in a message, so a zone label like `[click](http://evil) <!channel>`
 * cannot add a link, a mention or formatting. Plain-text slots (Feishu's card header, Slack's
 * header block) take the text as it is.
 */
import type { Alarm, AlarmAction, Severity } from '../alarms/types.ts';
import type { Language, Route } from './config.ts';

const SEVERITY_LABEL: Record<Language, Record<Severity, string>> = {
  en: { critical: 'Critical', major: 'Major', minor: 'Minor', warning: 'Warning', info: 'Info' },
  'zh-CN': { critical: '紧急', major: '重要', minor: '次要', warning: '警告', info: '提示' },
};

const LABELS = {
  en: { site: 'Site', zone: 'Zone', device: 'Device', first: 'First seen', count: 'Occurrences', alarm: 'Alarm', snapshot: 'Snapshot', by: 'By' },
  'zh-CN': { site: '门店', zone: '区域', device: '设备', first: '首次发生', count: '次数', alarm: '告警', snapshot: '现场抓拍', by: '操作人' },
} as const;

export interface RenderContext {
  alarm: Alarm;
  action: AlarmAction;
  level: number;
  language: Language;
  timezone: string;
  /** Absolute base for relative links (the snapshot URL), e.g. https://twin.example.com. */
  publicUrl?: string;
}

export interface RenderedText {
  title: string;
  /** [label, value] pairs. */
  fields: Array<[string, string]>;
  link: { label: string; url: string } | null;
  /** Acknowledged / cleared: a short follow-up rather than a full alarm. */
  followUp: boolean;
}

function localTime(iso: string, timeZone: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  // sv-SE formats as "2026-11-23 10:14:07": unambiguous in both languages.
  return `${new Date(ms).toLocaleString('sv-SE', { timeZone })} (${timeZone})`;
}

function snapshotUrl(alarm: Alarm, publicUrl: string | undefined): string | null {
  const s = alarm.snapshot;
  if (!s || s.status !== 'attached') return null;
  if (/^https?:\/\//.test(s.url) || !publicUrl) return s.url;
  return new URL(s.url, publicUrl.endsWith('/') ? publicUrl : `${publicUrl}/`).toString();
}

/** Makes untrusted text inert in one markup language. */
export type Escape = (text: string) => string;

const asIs: Escape = (text) => text;

/**
 * Line breaks (and other control characters) would let a value start a new block: a heading,
 * a quote, a list item, a link reference definition. Values are always placed after a label on
 * a line of their own making, so one space is what a line break becomes.
 */
function oneLine(text: string): string {
  return text.replace(/[\p{Cc}\u2028\u2029]/gu, ' ');
}

/** Chat clients link `scheme://…` by themselves; a value must not bring a live link along. */
function unlinked(text: string): string {
  return text.replace(/:\/\//g, '\uff1a//');
}

/** ASCII markup characters and the full-width forms that look alike and mean nothing to a renderer. */
const FULL_WIDTH: Record<string, string> = {
  '\\': '\uff3c',
  '*': '\uff0a',
  _: '\uff3f',
  '~': '\uff5e',
  '`': '\uff40',
  '[': '\uff3b',
  ']': '\uff3d',
  '(': '\uff08',
  ')': '\uff09',
  '<': '\uff1c',
  '>': '\uff1e',
  '#': '\uff03',
  '&': '\uff06',
};

/**
 * WeCom (企业微信) and DingTalk (钉钉) markdown, Feishu (飞书) lark_md and Feishu text messages
 * (which render links, bold and `<at user_id="all">` too). None of them documents a backslash
 * escape that every client honours, and all accept some HTML (`<font>`, `<at>`), so the
 * characters that open markup (backslash, backtick and `* _ ~ [ ] ( ) < > # &`) become their
 * full-width forms, which no renderer reads as markup and which read the same (in Chinese text
 * they are the usual punctuation anyway).
 */
export function escapeMarkdown(text: string): string {
  return unlinked(oneLine(text)).replace(/[\\*_~`[\]()<>#&]/g, (c) => FULL_WIDTH[c] ?? c);
}

/**
 * Slack mrkdwn: `&`, `<` and `>` are Slack's control characters (links `<url|text>`, mentions
 * `<!channel>`, `<@U…>`) and must be sent as `&amp;`, `&lt;`, `&gt;`. Slack has no escape for
 * `*`, `_`, `~` and backticks, so those become full-width look-alikes.
 */
export function escapeSlackMrkdwn(text: string): string {
  return unlinked(oneLine(text))
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/[*_~`]/g, (c) => FULL_WIDTH[c] ?? c);
}

/** The message for one route; untrusted values pass through `esc` (as is for plain text and email, which escapes its HTML itself). */
export function describe(ctx: RenderContext, esc: Escape = asIs): RenderedText {
  const { alarm, action, level, language: lang } = ctx;
  const zh = lang === 'zh-CN';
  const sev = SEVERITY_LABEL[lang][alarm.severity];
  const msg = esc(alarm.message[lang]);
  const L = LABELS[lang];
  let title: string;
  let followUp = false;
  switch (action) {
    case 'escalated':
      title = zh ? `【${sev}】第 ${level} 级升级（未确认）：${msg}` : `[${sev}] Escalation level ${level}, unacknowledged: ${msg}`;
      break;
    case 'snapshot':
      title = zh ? `【${sev}】已附现场抓拍：${msg}` : `[${sev}] Snapshot attached: ${msg}`;
      break;
    case 'acknowledged':
      followUp = true;
      title = zh ? `已确认：${msg}` : `Acknowledged: ${msg}`;
      break;
    case 'cleared':
      followUp = true;
      title = zh ? `已解除：${msg}` : `Cleared: ${msg}`;
      break;
    default:
      title = zh ? `【${sev}】${msg}` : `[${sev}] ${msg}`;
  }
  const fields: Array<[string, string]> = [[L.site, esc(alarm.site)]];
  if (alarm.zone) fields.push([L.zone, esc(alarm.zone)]);
  if (alarm.device) fields.push([L.device, esc(alarm.device)]);
  if (followUp) {
    const by = action === 'acknowledged' ? alarm.acknowledgedBy : alarm.clearedBy;
    const at = action === 'acknowledged' ? alarm.acknowledgedAt : alarm.clearedAt;
    // localTime is ours: an ISO time and a time zone the site validation checked against IANA.
    if (by) fields.push([L.by, at ? `${esc(by)}, ${localTime(at, ctx.timezone)}` : esc(by)]);
  } else {
    fields.push([L.first, localTime(alarm.firstAt, ctx.timezone)]);
    if (alarm.count > 1) fields.push([L.count, String(alarm.count)]);
  }
  fields.push([L.alarm, esc(alarm.id)]);
  const url = snapshotUrl(alarm, ctx.publicUrl);
  return { title, fields, link: url ? { label: L.snapshot, url } : null, followUp };
}

function markdownLines(t: RenderedText): string[] {
  const lines = t.fields.map(([k, v]) => `- **${k}**: ${v}`);
  if (t.link) lines.push(`- [${t.link.label}](${t.link.url})`);
  return lines;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

const WECOM_MAX_BYTES = 4096;

function truncateBytes(s: string, max: number): string {
  if (Buffer.byteLength(s) <= max) return s;
  let out = s;
  while (Buffer.byteLength(out) > max - 3) out = out.slice(0, -16);
  return `${out}...`;
}

/** The payload stored in the outbox for this route. */
export function renderPayload(route: Route, ctx: RenderContext): unknown {
  if (route.channel === 'email') {
    const t = describe(ctx);
    const text = [t.title, '', ...t.fields.map(([k, v]) => `${k}: ${v}`), ...(t.link ? [`${t.link.label}: ${t.link.url}`] : [])].join('\n');
    const rows = t.fields.map(([k, v]) => `<tr><th align="left">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('');
    const link = t.link ? `<p><a href="${escapeHtml(t.link.url)}">${escapeHtml(t.link.label)}</a></p>` : '';
    const html = `<h2>${escapeHtml(t.title)}</h2><table>${rows}</table>${link}`;
    return { to: route.to, subject: `StoreTwin: ${t.title}`, text, html };
  }
  switch (route.preset) {
    case 'generic':
      return { event: ctx.action, level: ctx.level, alarm: ctx.alarm };
    case 'wecom': {
      const t = describe(ctx, escapeMarkdown);
      const head = t.followUp ? `**${t.title}**` : `<font color="warning">**${t.title}**</font>`;
      return { msgtype: 'markdown', markdown: { content: truncateBytes([head, ...markdownLines(t)].join('\n'), WECOM_MAX_BYTES) } };
    }
    case 'dingtalk': {
      // The title is what the chat list shows; escaped as well, in case a client renders it.
      const t = describe(ctx, escapeMarkdown);
      return { msgtype: 'markdown', markdown: { title: t.title, text: [`### ${t.title}`, '', ...markdownLines(t)].join('\n') } };
    }
    case 'feishu': {
      const t = describe(ctx, escapeMarkdown);
      if (t.followUp) {
        const text = [t.title, ...t.fields.map(([k, v]) => `${k}: ${v}`)].join('\n');
        return { msg_type: 'text', content: { text } };
      }
      const md = t.fields.map(([k, v]) => `**${k}**: ${v}`).join('\n') + (t.link ? `\n[${t.link.label}](${t.link.url})` : '');
      const template = ctx.alarm.severity === 'critical' ? 'red' : ctx.alarm.severity === 'major' ? 'orange' : 'yellow';
      return {
        msg_type: 'interactive',
        card: {
          config: { wide_screen_mode: true },
          header: { title: { tag: 'plain_text', content: describe(ctx).title }, template },
          elements: [{ tag: 'div', text: { tag: 'lark_md', content: md } }],
        },
      };
    }
    case 'slack': {
      const t = describe(ctx, escapeSlackMrkdwn);
      // Labels and the link are ours; values were escaped by describe().
      const body = t.fields.map(([k, v]) => `*${k}*: ${v}`).join('\n') + (t.link ? `\n<${t.link.url}|${t.link.label}>` : '');
      return {
        // The notification text is mrkdwn too; the header block is plain text.
        text: t.title,
        blocks: [
          { type: 'header', text: { type: 'plain_text', text: describe(ctx).title.slice(0, 150) } },
          { type: 'section', text: { type: 'mrkdwn', text: body } },
        ],
      };
    }
  }
}
