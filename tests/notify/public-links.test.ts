/**
 * Issue 7 end to end: a real app with STORETWIN_PUBLIC_URL set, a door opened over MQTT in an
 * armed room of the demo shop, a simulated camera answering the snapshot command, and a real
 * webhook receiver standing in for WeCom, Feishu and DingTalk. The messages name the shop, the
 * floor and the room by their display names, say when on the shop's clock, and link the
 * picture (once attached) and the alarm absolutely. Then notify.yaml is edited under the
 * running server: a new route hears the next alarm; a broken edit keeps the routes in force.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alarm } from '../../server/alarms/types.ts';
import { loadConfig } from '../../server/config.ts';
import { SiteSimulator } from '../../simulators/site-simulator.ts';
import { adminToken, eventually, startTestApp, tempDir, type TestApp } from '../helpers/app.ts';
import { connectDevice } from '../helpers/mqtt.ts';
import { startReceiver, type ReceivedRequest, type Receiver } from '../helpers/receiver.ts';

const SHOP = 'demo-shop';
// Through the environment variable, as an operator sets it (the trailing slash is dropped).
const PUBLIC_URL = loadConfig({ env: { STORETWIN_PUBLIC_URL: 'https://twin.example.com/' } }).publicUrl!;

let t: TestApp;
let receiver: Receiver;
let sim: SiteSimulator;
let token: string;
const doors: MqttClient[] = [];

function routesYaml(extra: string[] = []): string {
  return [
    `allowPrivateNetworks: ["127.0.0.1"]`,
    `sites:`,
    `  ${SHOP}:`,
    `    routes:`,
    `      - { id: wecom, channel: webhook, preset: wecom, url: "${receiver.url}/wecom?key=k" }`,
    `      - { id: feishu, channel: webhook, preset: feishu, url: "${receiver.url}/feishu", secret: "fsecret" }`,
    `      - { id: ding, channel: webhook, preset: dingtalk, url: "${receiver.url}/dingtalk?access_token=t", language: en }`,
    ...extra,
  ].join('\n');
}

const nightRoute = () => `      - { id: night, channel: webhook, preset: generic, url: "${receiver.url}/night", language: en }`;

async function api(method: string, url: string, body?: unknown): Promise<Response> {
  return fetch(`${t.httpUrl}${url}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** Registers a door sensor in `zone`, arms the zone, and opens the door over MQTT; resolves with the alarm. */
async function openDoor(device: string, zone: string): Promise<Alarm> {
  const { secret } = await t.app.devices.register({ id: device, site: SHOP, type: 'door-sensor', zone });
  const door = await connectDevice(t.mqttUrl, device, secret);
  doors.push(door);
  expect((await api('POST', `/api/sites/${SHOP}/zones/${zone}/arm`, {})).status).toBe(200);
  await door.publishAsync(`storetwin/${SHOP}/${device}/up`, JSON.stringify({ type: 'door', state: 'open', seq: 1 }), { qos: 1 });
  return eventually(async () => (await t.app.alarms.open(SHOP)).find((a) => a.rule === 'door-opened-armed' && a.zone === zone), 5000);
}

/** The parts of the WeCom, DingTalk and Feishu bodies read here. */
interface ChatBody {
  markdown: { content: string; title: string; text: string };
  card: { header: { title: { content: string } }; elements: Array<{ text: { content: string } }> };
  sign?: string;
}

/** The body sent for (alarm, action, route): the Idempotency-Key names all three. */
function bodyOf(alarm: Alarm, action: string, route: string): ChatBody | null {
  const r = receiver.requests.find((q: ReceivedRequest) => q.headers['idempotency-key'] === `${alarm.id}:${action}:0:${route}`);
  return r ? (JSON.parse(r.body) as ChatBody) : null;
}

/** The WeCom, Feishu and DingTalk bodies for (alarm, action), once all three arrived. */
function chatBodies(alarm: Alarm, action: string): { wecom: ChatBody; feishu: ChatBody; ding: ChatBody } | null {
  const wecom = bodyOf(alarm, action, 'wecom');
  const feishu = bodyOf(alarm, action, 'feishu');
  const ding = bodyOf(alarm, action, 'ding');
  return wecom && feishu && ding ? { wecom, feishu, ding } : null;
}

/** "2026-11-23 10:14 (Asia/Shanghai)" worked out apart from the server: Shanghai is UTC+8 all year. */
function shanghai(iso: string): string {
  return `${new Date(Date.parse(iso) + 8 * 3600_000).toISOString().slice(0, 16).replace('T', ' ')} (Asia/Shanghai)`;
}

beforeAll(async () => {
  receiver = await startReceiver();
  const dataDir = await tempDir();
  await writeFile(path.join(dataDir, 'notify.yaml'), routesYaml());
  t = await startTestApp({ publicUrl: PUBLIC_URL }, { dataDir });
  token = await adminToken(t.app);
  const { secret } = await t.app.devices.register({ id: 'shop-cam-cash', site: SHOP, type: 'camera', zone: 'cash-room', label: 'Cash room' });
  sim = new SiteSimulator({
    url: t.mqttUrl,
    site: t.app.sites.get(SHOP)!,
    devices: [{ id: 'shop-cam-cash', type: 'camera', zone: 'cash-room', label: 'Cash room' }],
    credentials: { 'shop-cam-cash': secret },
    speed: 1,
    paused: true,
    boot: false,
  });
  await sim.start();
  await eventually(() => t.app.broker.isConnected('shop-cam-cash'));
}, 60_000);

afterAll(async () => {
  for (const d of doors) await d.endAsync();
  await sim?.stop();
  await t?.stop();
  await receiver?.close();
});

describe('chat messages from a real alarm', () => {
  it('name the place, say when on the site clock, and link the picture and the alarm absolutely', async () => {
    expect(PUBLIC_URL).toBe('https://twin.example.com');
    const alarm = await openDoor('shop-door-cash', 'cash-room');
    const when = shanghai(alarm.firstAt);
    const alarmLink = `https://twin.example.com/?alarm=${alarm.id}`;

    const raised = await eventually(() => chatBodies(alarm, 'raised'), 5000);
    const wecom = raised.wecom.markdown.content as string;
    const feishu = `${raised.feishu.card.header.title.content}\n${raised.feishu.card.elements[0]!.text.content}`;
    const ding = `${raised.ding.markdown.title}\n${raised.ding.markdown.text}`;
    for (const text of [wecom, feishu]) {
      expect(text).toContain('【紧急】');
      expect(text).toContain('门店**: 演示商店');
      expect(text).toContain('楼层**: 1层');
      expect(text).toContain('区域**: 收银室');
      expect(text).toContain(`时间**: ${when}`);
      expect(text).toContain(`[查看告警](${alarmLink})`);
    }
    expect(ding).toContain('[Critical]');
    expect(ding).toContain('**Site**: Demo Shop');
    expect(ding).toContain('**Floor**: Ground floor');
    expect(ding).toContain('**Zone**: Cash room');
    expect(ding).toContain(`**When**: ${when}`);
    expect(ding).toContain(`[Open the alarm](${alarmLink})`);
    // No raw ids for the place.
    for (const text of [wecom, feishu, ding]) expect(text).not.toMatch(/demo-shop|: cash-room/);
    // The Feishu signature is still there.
    expect(raised.feishu.sign).toEqual(expect.any(String));

    // The camera's picture attaches; everyone told gets it, with an absolute link.
    const attached = await eventually(async () => {
      const a = await t.app.alarms.get(alarm.id);
      return a?.snapshot?.status === 'attached' ? a.snapshot : null;
    }, 5000);
    const picture = `https://twin.example.com/api/snapshots/${attached.id}`;
    const snap = await eventually(() => chatBodies(alarm, 'snapshot'), 5000);
    expect(snap.wecom.markdown.content).toContain(`- [现场抓拍](${picture})\n- [查看告警](${alarmLink})`);
    expect(snap.feishu.card.elements[0]!.text.content).toContain(`[现场抓拍](${picture})`);
    expect(snap.ding.markdown.text).toContain(`- [Snapshot](${picture})`);

    // The link's path is the real one: this server answers it with the JPEG.
    const res = await fetch(`${t.httpUrl}${new URL(picture).pathname}`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    await res.body?.cancel();
  }, 30_000);
});

describe('notify.yaml edited under the running server', () => {
  it('a new route hears the next alarm; a broken edit keeps the routes in force and the API still lists them', async () => {
    const file = path.join(t.dataDir, 'notify.yaml');
    const before = (await (await api('GET', '/api/notify/routes')).json()) as { loadedAt: string };
    await writeFile(file, routesYaml([nightRoute()]));
    const listed = await eventually(async () => {
      const body = (await (await api('GET', '/api/notify/routes')).json()) as { items: Array<{ id: string }>; loadedAt: string };
      return body.items.some((r) => r.id === 'night') ? body : null;
    }, 5000);
    expect(listed.items.map((r) => r.id)).toEqual(['wecom', 'feishu', 'ding', 'night']);
    expect(Date.parse(listed.loadedAt)).toBeGreaterThanOrEqual(Date.parse(before.loadedAt));

    const office = await openDoor('shop-door-office', 'back-office');
    const night = await eventually(() => bodyOf(office, 'raised', 'night'), 5000);
    expect(night).toMatchObject({
      event: 'raised',
      alarm: { id: office.id, zone: 'back-office' },
      names: { site: 'Demo Shop', floor: 'Ground floor', zone: 'Back office' },
      links: { alarm: `https://twin.example.com/?alarm=${office.id}` },
    });

    // Broken: a route without a URL and an unknown preset. Refused, logged, the routes stay.
    await writeFile(file, `${routesYaml([nightRoute()])}\n      - { id: broken, channel: webhook, preset: telegram }\n`);
    const refused = await eventually(async () => {
      const body = (await (await api('GET', '/api/notify/routes')).json()) as { items: Array<{ id: string }>; rejected: { at: string; message: string } | null };
      return body.rejected ? body : null;
    }, 5000);
    expect(refused.items.map((r) => r.id)).toEqual(['wecom', 'feishu', 'ding', 'night']);
    expect(refused.rejected!.message).toContain('routes[4]');
    expect(refused.rejected!.message).toMatch(/preset/);
    expect(refused.rejected!.message).toMatch(/url/);

    // …and they are still in force: the next alarm reaches the night route too.
    const south = await openDoor('shop-door-south', 'entrance-south');
    expect(await eventually(() => bodyOf(south, 'raised', 'night'), 5000)).toMatchObject({ alarm: { id: south.id } });
    expect(await eventually(() => bodyOf(south, 'raised', 'wecom'), 5000)).toBeTruthy();
  }, 30_000);
});
