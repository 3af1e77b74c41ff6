/**
 * Issue 7: a message read on a phone names the place by its display names in the route's
 * language, says what happened and when on the site's clock, and links the picture and the
 * alarm absolutely — in every preset. Planned by the real RoutePlanner with the shipped site
 * models (SiteCatalog), so the names come from where the server takes them.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Alarm } from '../../server/alarms/types.ts';
import { loadConfig, parseConfig } from '../../server/config.ts';
import { parseNotifyConfig, type Route } from '../../server/notify/config.ts';
import { RoutePlanner } from '../../server/notify/planner.ts';
import { describe as describeAlarm, renderPayload, renderTestPayload } from '../../server/notify/render.ts';
import { SiteCatalog } from '../../server/sites/catalog.ts';
import { SHIPPED_SITES } from '../helpers/app.ts';
import { sampleAlarm } from './helpers.ts';

const PUBLIC = 'https://twin.example.com';
const SITE = 'demo-shop';

let sites: SiteCatalog;
beforeAll(async () => {
  sites = await SiteCatalog.load([SHIPPED_SITES]);
});

/** A door alarm in the shop's cash room at 02:14:07Z (10:14 in Shanghai), with its picture attached. */
function cashRoomAlarm(over: Partial<Alarm> = {}): Alarm {
  return sampleAlarm({
    id: '7f3c2a9e-1b2c-4d5e-8f90-a1b2c3d4e5f6',
    site: SITE,
    zone: 'cash-room',
    device: 'shop-door-cash',
    source: 'shop-door-cash',
    message: { en: 'Door opened in armed Cash room', 'zh-CN': '布防区域 收银室 门被打开' },
    firstAt: '2026-11-23T02:14:07.000Z',
    lastAt: '2026-11-23T02:14:07.000Z',
    snapshot: { status: 'attached', id: 'c0ffee', camera: 'shop-cam-cash', at: '2026-11-23T02:14:08Z', url: '/api/snapshots/c0ffee' },
    ...over,
  });
}

const ROUTES = [
  { id: 'wecom', channel: 'webhook', preset: 'wecom', url: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k' },
  { id: 'ding', channel: 'webhook', preset: 'dingtalk', url: 'https://oapi.dingtalk.com/robot/send?access_token=t' },
  { id: 'feishu', channel: 'webhook', preset: 'feishu', url: 'https://open.feishu.cn/open-apis/bot/v2/hook/x' },
  { id: 'slack', channel: 'webhook', preset: 'slack', url: 'https://hooks.slack.com/services/T0/B0/x', language: 'en' },
  { id: 'generic', channel: 'webhook', preset: 'generic', url: 'https://ops.example.com/hook', language: 'en' },
  { id: 'mail', channel: 'email', to: ['manager@shop.test'], language: 'en' },
] as const;

function planner(opts: { publicUrl?: string; timezone?: string } = {}) {
  const config = parseNotifyConfig({
    smtp: { host: 'smtp.example.com', from: 'alarms@shop.test' },
    sites: { [SITE]: { ...(opts.timezone ? { timezone: opts.timezone } : {}), routes: ROUTES } },
  });
  return new RoutePlanner({ config, timezoneOf: (s) => sites.get(s)?.timezone, publicUrl: opts.publicUrl, sites });
}

/** The parts of each preset's body that carry the message. */
interface Payload {
  markdown: { content: string; title: string; text: string };
  msg_type: string;
  content: { text: string };
  card: { header: { title: { content: string } }; elements: Array<{ text: { content: string } }> };
  text: string;
  blocks: Array<{ text: { text: string } }>;
  subject: string;
  html: string;
}

/** What a person reads, per preset: the markup/text that carries the message. */
function readable(route: string, payload: unknown): string {
  const p = payload as Payload;
  switch (route) {
    case 'wecom':
      return p.markdown.content;
    case 'ding':
      return `${p.markdown.title}\n${p.markdown.text}`;
    case 'feishu':
      return p.msg_type === 'text' ? p.content.text : `${p.card.header.title.content}\n${p.card.elements[0]!.text.content}`;
    case 'slack':
      return `${p.text}\n${p.blocks[1]!.text.text}`;
    case 'generic':
      return JSON.stringify(p);
    case 'mail':
      return `${p.subject}\n${p.text}\n${p.html}`;
    default:
      throw new Error(route);
  }
}

function plan(alarm: Alarm, opts: { publicUrl?: string; timezone?: string } = {}, action: 'raised' | 'acknowledged' | 'snapshot' = 'raised') {
  const deliveries = planner(opts).plan(alarm, action, { level: 0, now: Date.parse('2026-11-23T02:14:08Z') });
  return new Map(deliveries.map((d) => [d.route, d.payload]));
}

const ALARM_LINK = `${PUBLIC}/?alarm=7f3c2a9e-1b2c-4d5e-8f90-a1b2c3d4e5f6`;
const PICTURE_LINK = `${PUBLIC}/api/snapshots/c0ffee`;

describe('messages name the place, the time on the site clock, and link absolutely', () => {
  it('every preset: severity, what happened, site / floor / zone names, local time, picture and alarm links', () => {
    const bodies = plan(cashRoomAlarm(), { publicUrl: PUBLIC });
    expect([...bodies.keys()].sort()).toEqual(['ding', 'feishu', 'generic', 'mail', 'slack', 'wecom']);
    for (const [route, payload] of bodies) {
      const zh = ROUTES.find((r) => r.id === route)!;
      const english = 'language' in zh && zh.language === 'en';
      const text = readable(route, payload);
      if (english) {
        for (const part of ['Critical', 'Door opened in armed Cash room', 'Demo Shop', 'Ground floor', 'Cash room', '2026-11-23 10:14 (Asia/Shanghai)']) expect(text, `${route}: ${part}`).toContain(part);
      } else {
        for (const part of ['紧急', '布防区域 收银室 门被打开', '演示商店', '1层', '收银室', '2026-11-23 10:14 (Asia/Shanghai)']) expect(text, `${route}: ${part}`).toContain(part);
      }
      expect(text, route).toContain(PICTURE_LINK);
      expect(text, route).toContain(ALARM_LINK);
      // The place by name, not by id (the generic body carries the alarm object, ids included).
      if (route !== 'generic') expect(text, route).not.toMatch(/demo-shop|: cash-room/);
    }
  });

  it('links are links in each markup, labelled in the route language', () => {
    const bodies = plan(cashRoomAlarm(), { publicUrl: PUBLIC });
    expect(readable('wecom', bodies.get('wecom'))).toContain(`- [现场抓拍](${PICTURE_LINK})\n- [查看告警](${ALARM_LINK})`);
    expect(readable('wecom', bodies.get('wecom'))).toMatch(/^<font color="warning">\*\*【紧急】布防区域 收银室 门被打开\*\*<\/font>\n- \*\*门店\*\*: 演示商店\n- \*\*楼层\*\*: 1层\n- \*\*区域\*\*: 收银室\n/);
    expect(readable('ding', bodies.get('ding'))).toContain(`- [查看告警](${ALARM_LINK})`);
    expect(readable('feishu', bodies.get('feishu'))).toContain(`[现场抓拍](${PICTURE_LINK})`);
    expect(readable('slack', bodies.get('slack'))).toContain(`<${PICTURE_LINK}|Snapshot>\n<${ALARM_LINK}|Open the alarm>`);
    const mail = bodies.get('mail') as { text: string; html: string };
    expect(mail.text).toContain(`Open the alarm: ${ALARM_LINK}`);
    expect(mail.html).toContain(`<a href="${ALARM_LINK}">Open the alarm</a>`);
    expect(bodies.get('generic')).toMatchObject({
      event: 'raised',
      alarm: { id: '7f3c2a9e-1b2c-4d5e-8f90-a1b2c3d4e5f6', site: SITE },
      names: { site: 'Demo Shop', floor: 'Ground floor', zone: 'Cash room', device: null },
      links: { alarm: ALARM_LINK, snapshot: PICTURE_LINK },
      summary: { language: 'en', title: '[Critical] Door opened in armed Cash room', fields: expect.arrayContaining([{ label: 'When', value: '2026-11-23 10:14 (Asia/Shanghai)' }]) },
    });
  });

  it('follow-ups name the place and who acted when, and link the alarm', () => {
    const acked = cashRoomAlarm({ state: 'acknowledged', acknowledged: true, acknowledgedBy: 'li.na', acknowledgedAt: '2026-11-23T02:20:00Z' });
    const planned = planner({ publicUrl: PUBLIC });
    const bodies = new Map(planned.plan(acked, 'acknowledged', { level: 0, now: 0 }).map((d) => [d.route, d.payload]));
    // Without the outbox every route the severity reached is "already told".
    expect(bodies.get('feishu')).toMatchObject({ msg_type: 'text' });
    const feishu = readable('feishu', bodies.get('feishu'));
    expect(feishu).toContain('已确认');
    expect(feishu).toContain('演示商店');
    expect(feishu).toContain('li.na, 2026-11-23 10:20 (Asia/Shanghai)');
    expect(feishu).toContain(`查看告警: ${ALARM_LINK}`);
    expect(readable('wecom', bodies.get('wecom'))).toMatch(/^\*\*已确认：/);
  });

  it('the time is the site clock: the notify config time zone over the site model', () => {
    const text = readable('wecom', plan(cashRoomAlarm(), { publicUrl: PUBLIC, timezone: 'America/New_York' }).get('wecom'));
    expect(text).toContain('2026-11-22 21:14 (America/New_York)');
  });

  it('a public URL with a path prefix keeps it', () => {
    const text = readable('wecom', plan(cashRoomAlarm(), { publicUrl: 'https://example.com/storetwin' }).get('wecom'));
    expect(text).toContain('](https://example.com/storetwin/api/snapshots/c0ffee)');
    expect(text).toContain('](https://example.com/storetwin/?alarm=7f3c2a9e-1b2c-4d5e-8f90-a1b2c3d4e5f6)');
  });

  it('without a public URL the links are relative and shown as text, never as dead links', () => {
    const bodies = plan(cashRoomAlarm());
    for (const [route, payload] of bodies) {
      const text = readable(route, payload);
      expect(text, route).toContain('/?alarm=7f3c2a9e-1b2c-4d5e-8f90-a1b2c3d4e5f6');
      expect(text, route).not.toContain('https://');
      expect(text, route).not.toMatch(/\]\(\/|<\/\?alarm|href="\//);
    }
    expect(readable('wecom', bodies.get('wecom'))).toContain('- **查看告警**: /?alarm=7f3c2a9e-1b2c-4d5e-8f90-a1b2c3d4e5f6');
    expect(bodies.get('generic')).toMatchObject({ links: { alarm: '/?alarm=7f3c2a9e-1b2c-4d5e-8f90-a1b2c3d4e5f6', snapshot: '/api/snapshots/c0ffee' } });
  });

  it('a place the site model does not know is named by its id', () => {
    const text = readable('wecom', plan(cashRoomAlarm({ zone: 'annex-9' }), { publicUrl: PUBLIC }).get('wecom'));
    expect(text).toContain('- **门店**: 演示商店\n- **区域**: annex-9\n');
    expect(text).not.toContain('楼层');
  });

  it('display names from a site file are escaped like any outside value', () => {
    const place = { site: { en: 'Shop [x](http://evil.example)', 'zh-CN': '店 <!channel>' }, floor: { en: '**1**', 'zh-CN': '`1`' }, zone: { en: '_z_', 'zh-CN': '<at user_id="all">' } };
    const ctx = { alarm: cashRoomAlarm(), action: 'raised' as const, level: 0, timezone: 'Asia/Shanghai', publicUrl: PUBLIC, place };
    const route = (preset: 'wecom' | 'slack', language: 'en' | 'zh-CN') => ({ id: preset, channel: 'webhook', preset, url: 'https://x.example/h', severities: ['critical'], language }) as Route;
    const wecom = readable('wecom', renderPayload(route('wecom', 'zh-CN'), { ...ctx, language: 'zh-CN' }));
    expect(wecom).not.toMatch(/<!channel|<at|`1`/);
    const slack = readable('slack', renderPayload(route('slack', 'en'), { ...ctx, language: 'en' }));
    expect(slack).not.toMatch(/\*\*1\*\*|_z_|http:\/\/evil/);
    // The plain-text describe() keeps them as written (Feishu's card header, Slack's header block).
    expect(describeAlarm({ ...ctx, language: 'en' }).fields[0]).toEqual(['Site', 'Shop [x](http://evil.example)']);
  });

  it('WeCom: the size cap cuts the text, never the links', () => {
    const long = 'x'.repeat(5000);
    const text = readable('wecom', plan(cashRoomAlarm({ message: { en: long, 'zh-CN': long } }), { publicUrl: PUBLIC }).get('wecom'));
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(4096);
    expect(text.endsWith(`- [查看告警](${ALARM_LINK})`)).toBe(true);
  });
});

describe('the test message', () => {
  it('says it is a test, in the route language, for every preset', () => {
    const config = parseNotifyConfig({ smtp: { host: 'smtp.example.com', from: 'a@shop.test' }, sites: { [SITE]: { routes: ROUTES } } });
    for (const route of config.routes(SITE)) {
      const text = readable(route.id, renderTestPayload({ route, site: SITE, siteName: sites.get(SITE)!.name, timezone: 'Asia/Shanghai', now: Date.parse('2026-11-23T02:14:07Z'), by: 'admin', publicUrl: PUBLIC }));
      if (route.language === 'en') {
        expect(text, route.id).toContain('Test message from StoreTwin');
        expect(text, route.id).toContain('Demo Shop');
      } else {
        expect(text, route.id).toContain('测试消息');
        expect(text, route.id).toContain('演示商店');
      }
      expect(text, route.id).toContain('2026-11-23 10:14 (Asia/Shanghai)');
      expect(text, route.id).toContain(`${PUBLIC}/`);
    }
  });
});

describe('config publicUrl (STORETWIN_PUBLIC_URL)', () => {
  it('takes an absolute http(s) URL, from the environment too, without its trailing slash', () => {
    expect(loadConfig({ env: { STORETWIN_PUBLIC_URL: 'https://twin.example.com/' } }).publicUrl).toBe('https://twin.example.com');
    expect(parseConfig({ publicUrl: 'http://10.0.0.5:8080/storetwin/' }).publicUrl).toBe('http://10.0.0.5:8080/storetwin');
    expect(parseConfig({}).publicUrl).toBeUndefined();
  });

  it.each(['twin.example.com', '/storetwin', 'ftp://twin.example.com', 'https://twin.example.com/?k=1', 'https://twin.example.com/#a', 'https://user:pw@twin.example.com'])('refuses %j', (url) => {
    expect(() => loadConfig({ env: { STORETWIN_PUBLIC_URL: url } })).toThrow(/publicUrl/);
  });
});
