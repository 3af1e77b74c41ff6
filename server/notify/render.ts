/**
 * Renders an alarm change for one route: the body each webhook preset expects, or an email,
 * in the route's language. Rendering happens when the delivery is planned (inside the alarm
 * transaction), so a retry sends exactly what was first tried.
 *
 * A message is meant to be read on a phone, away from the dashboard: it names the site, floor
 * and zone by their display names in the route's language (ids only when the site model does
 * not know them), says what happened and when in the site's time zone ("2026-11-23 10:14
 * (Asia/Shanghai)"), and links the picture and the alarm itself. Links are absolute when
 * config `publicUrl` (STORETWIN_PUBLIC_URL) is set; without it they are relative, which no chat
 * client can open, so they are shown as text rather than as dead links.
 *
 * Chat bodies follow each platform's documented incoming-bot format:
 * - WeCom 企业微信群机器人: `{msgtype: 'markdown', markdown: {content}}` (content ≤ 4096 bytes)
 * - DingTalk 钉钉自定义机器人: `{msgtype: 'markdown', markdown: {title, text}}`
 * - Feishu 飞书自定义机器人: `{msg_type: 'interactive', card}` for alarms, `{msg_type: 'text',
 *   content: {text}}` for follow-ups (acknowledged, cleared)
 * - Slack incoming webhook: `{text, blocks}` (text is the notification fallback)
 * - generic: `{event, level, alarm, summary, links}` — the alarm object as the API returns it,
 *   plus the rendered text and the absolute links
 *
 * Values that come from outside the code — the alarm message (rule templates filled with
 * site, zone and device names from site files and the registry), site, floor, zone and device
 * names and ids, usernames — are escaped for the markup they land in (`escapeMarkdown`,
 * `escapeSlackMrkdwn`) before they are placed in a message, so a zone label like
 * `[click](http://evil) <!channel>` cannot add a link, a mention or formatting. Plain-text
 * slots (Feishu's card header, Slack's header block) take the text as it is.
 */
import type { Alarm, AlarmAction, Severity } from '../alarms/types.ts';
import { localParts } from '../history/local-time.ts';
import type { Localized } from '../sites/model.ts';
import type { Language, Route } from './config.ts';

const SEVERITY_LABEL: Record<Language, Record<Severity, string>> = {
  en: { critical: 'Critical', major: 'Major', minor: 'Minor', warning: 'Warning', info: 'Info' },
  'zh-CN': { critical: '紧急', major: '重要', minor: '次要', warning: '警告', info: '提示' },
};

const LABELS = {
  en: {
    site: 'Site',
    floor: 'Floor',
    zone: 'Zone',
    device: 'Device',
    when: 'When',
    count: 'Occurrences',
    snapshot: 'Snapshot',
    alarm: 'Open the alarm',
    by: 'By',
    route: 'Route',
    allSites: 'All sites',
    sent: 'Sent',
    dashboard: 'Open StoreTwin',
  },
  'zh-CN': {
    site: '门店',
    floor: '楼层',
    zone: '区域',
    device: '设备',
    when: '时间',
    count: '次数',
    snapshot: '现场抓拍',
    alarm: '查看告警',
    by: '操作人',
    route: '通知路由',
    allSites: '全部门店',
    sent: '发送时间',
    dashboard: '打开 StoreTwin',
  },
} as const;

/** Display names of where an alarm is, from the site model; absent = the site model does not know it (the id is shown). */
export interface PlaceNames {
  site?: Localized;
  floor?: Localized;
  zone?: Localized;
  /** The device's label in the site file (one language, as written). */
  device?: string;
}

export interface RenderContext {
  alarm: Alarm;
  action: AlarmAction;
  level: number;
  language: Language;
  timezone: string;
  /** Absolute base for links, e.g. https://twin.example.com (config `publicUrl`); absent = relative links. */
  publicUrl?: string;
  place?: PlaceNames;
}

export interface Link {
  label: string;
  url: string;
  /** A relative link is shown as text: a chat client cannot open it. */
  absolute: boolean;
}

export interface RenderedText {
  title: string;
  /** [label, value] pairs; values already escaped for the target markup. */
  fields: Array<[string, string]>;
  /** Picture first, then the alarm on the dashboard. */
  links: Link[];
  /** alarm: raised, escalated, snapshot; follow-up: acknowledged / cleared (short); test: a test send. */
  kind: 'alarm' | 'follow-up' | 'test';
}

/** "2026-11-23 10:14 (Asia/Shanghai)": unambiguous in both languages, and says which clock. */
export function localTime(iso: string | number, timeZone: string): string {
  const ms = typeof iso === 'number' ? iso : Date.parse(iso);
  if (Number.isNaN(ms)) return String(iso);
  const p = localParts(ms, timeZone);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${p.year}-${two(p.month)}-${two(p.day)} ${two(p.hour)}:${two(p.minute)} (${timeZone})`;
}

/** `path` (ours: /api/snapshots/…, /?alarm=…) under the public URL; as is when it is absolute already or there is no public URL. */
export function absoluteUrl(path: string, publicUrl: string | undefined): string {
  if (/^https?:\/\//i.test(path) || !publicUrl) return path;
  return `${publicUrl.replace(/\/+$/, '')}${path.startsWith('/') ? '' : '/'}${path}`;
}

/** The dashboard opens the alarm's detail from this link, after login if need be. */
export function alarmPath(alarmId: string): string {
  return `/?alarm=${encodeURIComponent(alarmId)}`;
}

function link(label: string, path: string, publicUrl: string | undefined): Link {
  const url = absoluteUrl(path, publicUrl);
  return { label, url, absolute: /^https?:\/\//i.test(url) };
}

function pick(value: Localized | undefined, lang: Language): string | undefined {
  return value?.[lang];
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
  const place = ctx.place ?? {};
  let title: string;
  let kind: RenderedText['kind'] = 'alarm';
  switch (action) {
    case 'escalated':
      title = zh ? `【${sev}】第 ${level} 级升级（未确认）：${msg}` : `[${sev}] Escalation level ${level}, unacknowledged: ${msg}`;
      break;
    case 'snapshot':
      title = zh ? `【${sev}】已附现场抓拍：${msg}` : `[${sev}] Snapshot attached: ${msg}`;
      break;
    case 'acknowledged':
      kind = 'follow-up';
      title = zh ? `已确认：${msg}` : `Acknowledged: ${msg}`;
      break;
    case 'cleared':
      kind = 'follow-up';
      title = zh ? `已解除：${msg}` : `Cleared: ${msg}`;
      break;
    default:
      title = zh ? `【${sev}】${msg}` : `[${sev}] ${msg}`;
  }
  const fields: Array<[string, string]> = [[L.site, esc(pick(place.site, lang) ?? alarm.site)]];
  if (place.floor) fields.push([L.floor, esc(pick(place.floor, lang) ?? '')]);
  if (alarm.zone) fields.push([L.zone, esc(pick(place.zone, lang) ?? alarm.zone)]);
  if (alarm.device) fields.push([L.device, esc(place.device ?? alarm.device)]);
  if (kind === 'follow-up') {
    const by = action === 'acknowledged' ? alarm.acknowledgedBy : alarm.clearedBy;
    const at = action === 'acknowledged' ? alarm.acknowledgedAt : alarm.clearedAt;
    // localTime is ours: an ISO time and a time zone the site validation checked against IANA.
    if (by) fields.push([L.by, at ? `${esc(by)}, ${localTime(at, ctx.timezone)}` : esc(by)]);
  } else {
    fields.push([L.when, localTime(alarm.firstAt, ctx.timezone)]);
    if (alarm.count > 1) fields.push([L.count, String(alarm.count)]);
  }
  const links: Link[] = [];
  if (alarm.snapshot?.status === 'attached') links.push(link(L.snapshot, alarm.snapshot.url, ctx.publicUrl));
  links.push(link(L.alarm, alarmPath(alarm.id), ctx.publicUrl));
  return { title, fields, links, kind };
}

export interface TestContext {
  route: Route;
  /** The route's site key: a site id, or '*' for the routes of every site. */
  site: string;
  siteName?: Localized;
  timezone: string;
  now: number;
  /** Who asked for the test (a username). */
  by: string;
  publicUrl?: string;
}

/** The test message of `POST /api/notify/routes/{id}/test`: says it is a test, in the route's language. */
export function describeTest(ctx: TestContext, esc: Escape = asIs): RenderedText {
  const lang = ctx.route.language;
  const L = LABELS[lang];
  const title = lang === 'zh-CN' ? '【测试】测试消息：来自 StoreTwin，无需处理' : '[Test] Test message from StoreTwin: nothing to do';
  const fields: Array<[string, string]> = [
    [L.route, esc(ctx.route.id)],
    [L.site, ctx.site === '*' ? L.allSites : esc(pick(ctx.siteName, lang) ?? ctx.site)],
    [L.by, esc(ctx.by)],
    [L.sent, localTime(ctx.now, ctx.timezone)],
  ];
  return { title, fields, links: [link(L.dashboard, '/', ctx.publicUrl)], kind: 'test' };
}

/**
 * A URL in our own markup: characters that would end a Markdown link `(…)` or a Slack link
 * `<…|…>` are percent-encoded (a public URL could carry them in its path).
 */
function markupUrl(url: string): string {
  return url.replace(/[()<>|\s"]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

/** Relative links as "label: /path" text; the path is ours but goes through `esc` like any value. */
function linkLines(t: RenderedText, esc: Escape, asLink: (label: string, url: string) => string, asText: (label: string, value: string) => string): string[] {
  return t.links.map((l) => (l.absolute ? asLink(l.label, markupUrl(l.url)) : asText(l.label, esc(l.url))));
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

function feishuTemplate(t: RenderedText, severity: Severity | null): string {
  if (t.kind === 'test') return 'blue';
  return severity === 'critical' ? 'red' : severity === 'major' ? 'orange' : 'yellow';
}

/** One rendered text in the body of the route's channel and preset (generic: `generic()`). */
function format(route: Route, plain: RenderedText, escaped: (esc: Escape) => RenderedText, severity: Severity | null, generic: () => unknown): unknown {
  if (route.channel === 'email') {
    const t = plain;
    const text = [t.title, '', ...t.fields.map(([k, v]) => `${k}: ${v}`), ...t.links.map((l) => `${l.label}: ${l.url}`)].join('\n');
    const rows = t.fields.map(([k, v]) => `<tr><th align="left">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('');
    const links = t.links.map((l) => (l.absolute ? `<p><a href="${escapeHtml(l.url)}">${escapeHtml(l.label)}</a></p>` : `<p>${escapeHtml(l.label)}: ${escapeHtml(l.url)}</p>`)).join('');
    const html = `<h2>${escapeHtml(t.title)}</h2><table>${rows}</table>${links}`;
    return { to: route.to, subject: `StoreTwin: ${t.title}`, text, html };
  }
  switch (route.preset) {
    case 'generic':
      return generic();
    case 'wecom': {
      const t = escaped(escapeMarkdown);
      const head = t.kind === 'follow-up' ? `**${t.title}**` : `<font color="${t.kind === 'test' ? 'info' : 'warning'}">**${t.title}**</font>`;
      const links = linkLines(t, escapeMarkdown, (label, url) => `- [${label}](${url})`, (label, value) => `- **${label}**: ${value}`).join('\n');
      // The links go last but must survive the size cap: the rest is cut to make room for them.
      const rest = truncateBytes([head, ...t.fields.map(([k, v]) => `- **${k}**: ${v}`)].join('\n'), WECOM_MAX_BYTES - Buffer.byteLength(links) - 1);
      return { msgtype: 'markdown', markdown: { content: `${rest}\n${links}` } };
    }
    case 'dingtalk': {
      // The title is what the chat list shows; escaped as well, in case a client renders it.
      const t = escaped(escapeMarkdown);
      const lines = [...t.fields.map(([k, v]) => `- **${k}**: ${v}`), ...linkLines(t, escapeMarkdown, (label, url) => `- [${label}](${url})`, (label, value) => `- **${label}**: ${value}`)];
      return { msgtype: 'markdown', markdown: { title: t.title, text: [`### ${t.title}`, '', ...lines].join('\n') } };
    }
    case 'feishu': {
      const t = escaped(escapeMarkdown);
      if (t.kind === 'follow-up') {
        // A text message: Feishu links a bare absolute URL by itself.
        const text = [t.title, ...t.fields.map(([k, v]) => `${k}: ${v}`), ...t.links.map((l) => `${l.label}: ${l.absolute ? markupUrl(l.url) : escapeMarkdown(l.url)}`)].join('\n');
        return { msg_type: 'text', content: { text } };
      }
      const md = [...t.fields.map(([k, v]) => `**${k}**: ${v}`), ...linkLines(t, escapeMarkdown, (label, url) => `[${label}](${url})`, (label, value) => `**${label}**: ${value}`)].join('\n');
      return {
        msg_type: 'interactive',
        card: {
          config: { wide_screen_mode: true },
          header: { title: { tag: 'plain_text', content: plain.title }, template: feishuTemplate(t, severity) },
          elements: [{ tag: 'div', text: { tag: 'lark_md', content: md } }],
        },
      };
    }
    case 'slack': {
      const t = escaped(escapeSlackMrkdwn);
      // Labels and links are ours; values were escaped by describe().
      const body = [...t.fields.map(([k, v]) => `*${k}*: ${v}`), ...linkLines(t, escapeSlackMrkdwn, (label, url) => `<${url}|${label}>`, (label, value) => `*${label}*: ${value}`)].join('\n');
      return {
        // The notification text is mrkdwn too; the header block is plain text.
        text: t.title,
        blocks: [
          { type: 'header', text: { type: 'plain_text', text: plain.title.slice(0, 150) } },
          { type: 'section', text: { type: 'mrkdwn', text: body } },
        ],
      };
    }
  }
}

/** The text parts of a rendered message for machine receivers (generic preset), unescaped. */
function summary(t: RenderedText, language: Language) {
  return { language, title: t.title, fields: t.fields.map(([label, value]) => ({ label, value })) };
}

/** The payload stored in the outbox for this route. */
export function renderPayload(route: Route, ctx: RenderContext): unknown {
  const plain = describe(ctx);
  return format(route, plain, (esc) => describe(ctx, esc), ctx.alarm.severity, () => {
    const { alarm, publicUrl } = ctx;
    const place = ctx.place ?? {};
    return {
      event: ctx.action,
      level: ctx.level,
      alarm,
      // Display names in the route's language (null: the site model does not know it).
      names: {
        site: pick(place.site, ctx.language) ?? null,
        floor: pick(place.floor, ctx.language) ?? null,
        zone: pick(place.zone, ctx.language) ?? null,
        device: place.device ?? null,
      },
      summary: summary(plain, ctx.language),
      links: {
        alarm: absoluteUrl(alarmPath(alarm.id), publicUrl),
        snapshot: alarm.snapshot?.status === 'attached' ? absoluteUrl(alarm.snapshot.url, publicUrl) : null,
      },
    };
  });
}

/** The body of a test send through `route` (see describeTest). */
export function renderTestPayload(ctx: TestContext): unknown {
  const plain = describeTest(ctx);
  return format(ctx.route, plain, (esc) => describeTest(ctx, esc), null, () => ({
    event: 'test',
    level: 0,
    test: { route: ctx.route.id, site: ctx.site, by: ctx.by, at: new Date(ctx.now).toISOString() },
    summary: summary(plain, ctx.route.language),
    links: { dashboard: plain.links[0]!.url },
  }));
}
