/**
 * Issue 9, item 16: text from a site file and from users must not become markup in a chat
 * message. A site whose zone and site names carry links, mentions and formatting; a door opens
 * in that armed zone over MQTT; the built-in rule raises a real alarm whose message names the
 * zone and the site; the outbox delivers it to a real HTTP receiver for every chat preset; a
 * user whose name is Markdown bold acknowledges it, and the follow-ups are delivered too.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alarm } from '../../server/alarms/types.ts';
import { adminToken, eventually, startTestApp, tempDir, type TestApp } from '../helpers/app.ts';
import { connectDevice } from '../helpers/mqtt.ts';
import { startReceiver, type ReceivedRequest, type Receiver } from '../helpers/receiver.ts';

const SITE = 'evil-shop';
const ZONE = 'vault';
/** What an attacker with write access to a site file (or a careless one) could put in a zone name. */
const HOSTILE_ZONE = '[click](http://evil.example) <!channel> **x** <at user_id=\\"all\\">all</at> `c` _i_ ~s~\\n> quote\\n# head';
const HOSTILE_SITE = 'Shop <http://evil.example|x> [site](http://evil.example/s) <!here>';
/** Usernames are letters, digits, ".", "_" and "-": enough for Markdown bold. */
const HOSTILE_USER = 'op__bold__';
const PRESETS = ['wecom', 'dingtalk', 'feishu', 'slack'] as const;
type Preset = (typeof PRESETS)[number];

const SITE_FILE = `
id: ${SITE}
name: {en: "${HOSTILE_SITE}", zh-CN: "${HOSTILE_SITE}"}
kind: shop
timezone: Asia/Shanghai
openingHours: {open: '09:00', close: '21:00'}
floors:
  - id: f1
    name: {en: Ground floor, zh-CN: 1层}
    level: 0
    height: 4
    zones:
      - id: ${ZONE}
        name: {en: "${HOSTILE_ZONE}", zh-CN: "${HOSTILE_ZONE}"}
        kind: cash-room
        polygon: [[0, 0], [6, 0], [6, 4], [0, 4]]
        monitored: true
    doors:
      - {id: d-vault, zone: ${ZONE}, from: [2, 0], to: [3, 0]}
devices:
  - {id: evil-door, type: door-sensor, zone: ${ZONE}, door: d-vault, position: [2.5, 0.1, 2.1]}
`;

let t: TestApp;
let receiver: Receiver;
let door: MqttClient | undefined;
let token: string;

/** The strings of a body that the platform renders as markup (plain-text slots are checked apart). */
function markupOf(preset: Preset, body: Record<string, unknown>): string[] {
  const b = body as {
    markdown?: { content?: string; title?: string; text?: string };
    card?: { header: { title: { tag: string } }; elements: Array<{ text: { tag: string; content: string } }> };
    content?: { text: string };
    text?: string;
    blocks?: Array<{ type: string; text: { type: string; text: string } }>;
  };
  switch (preset) {
    case 'wecom':
      return [b.markdown!.content!];
    case 'dingtalk':
      return [b.markdown!.title!, b.markdown!.text!];
    case 'feishu':
      if (b.content) return [b.content.text];
      expect(b.card!.header.title.tag).toBe('plain_text');
      expect(b.card!.elements[0]!.text.tag).toBe('lark_md');
      return [b.card!.elements[0]!.text.content];
    case 'slack':
      expect(b.blocks![0]!.text.type).toBe('plain_text');
      expect(b.blocks![1]!.text.type).toBe('mrkdwn');
      return [b.text!, b.blocks![1]!.text.text];
  }
}

/** Nothing from the hostile values is a link, a mention, formatting or a block of its own. */
function expectInert(preset: Preset, text: string): void {
  const lives = ['http://evil', '<!channel', '<!here', '<http', '<at', '**x**', '`c`', '_i_', '~s~', '__bold__'];
  // Markdown links; Slack's mrkdwn has none of this form (its links are <url|text>, covered above).
  if (preset !== 'slack') lives.push('[click]', '[site]', '](');
  for (const live of lives) {
    expect(text, `${preset}: ${live}`).not.toContain(live);
  }
  // The zone name's line breaks did not start a quote or a heading.
  for (const line of text.split('\n')) expect(line, preset).not.toMatch(/^\s*(>|#\s*head|quote)/);
  if (preset === 'slack') {
    expect(text).not.toMatch(/[<>]/);
  } else {
    // Only our own colour tag (WeCom) is HTML.
    expect(text.replace(/<font color="warning">|<\/font>/g, '')).not.toMatch(/[<>]/);
  }
}

function bodiesFor(alarmId: string, event: (body: string) => boolean): Map<Preset, Record<string, unknown>> {
  const found = new Map<Preset, Record<string, unknown>>();
  for (const r of receiver.requests as ReceivedRequest[]) {
    const preset = r.path.slice(1).split('?')[0] as Preset;
    if (PRESETS.includes(preset) && r.body.includes(alarmId.slice(0, 8)) && event(r.body)) found.set(preset, JSON.parse(r.body) as Record<string, unknown>);
  }
  return found;
}

beforeAll(async () => {
  receiver = await startReceiver();
  const dataDir = await tempDir();
  await mkdir(path.join(dataDir, 'sites'), { recursive: true });
  await writeFile(path.join(dataDir, 'sites', `${SITE}.yaml`), SITE_FILE);
  await writeFile(
    path.join(dataDir, 'notify.yaml'),
    [
      `allowPrivateNetworks: ["127.0.0.1"]`,
      `sites:`,
      `  ${SITE}:`,
      `    routes:`,
      `      - { id: wecom, channel: webhook, preset: wecom, url: "${receiver.url}/wecom?key=k" }`,
      `      - { id: ding, channel: webhook, preset: dingtalk, url: "${receiver.url}/dingtalk?access_token=t", secret: "SECding", language: en }`,
      `      - { id: feishu, channel: webhook, preset: feishu, url: "${receiver.url}/feishu" }`,
      `      - { id: slack, channel: webhook, preset: slack, url: "${receiver.url}/slack", language: en }`,
    ].join('\n'),
  );
  t = await startTestApp({}, { dataDir });
  token = await adminToken(t.app);
  const armed = await fetch(`${t.httpUrl}/api/sites/${SITE}/zones/${ZONE}/arm`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}' });
  expect(armed.status).toBe(200);
});

afterAll(async () => {
  await door?.endAsync();
  await t?.stop();
  await receiver?.close();
});

describe('hostile names in chat messages', () => {
  it('arrive as text in every preset: no link, mention or formatting, also in the follow-up', async () => {
    expect(t.app.sites.get(SITE)?.floors[0]?.zones[0]?.name.en).toContain('<!channel>');
    const { secret } = await t.app.devices.register({ id: 'evil-door', site: SITE, type: 'door-sensor', zone: ZONE });
    door = await connectDevice(t.mqttUrl, 'evil-door', secret);
    await door.publishAsync(`storetwin/${SITE}/evil-door/up`, JSON.stringify({ type: 'door', state: 'open', seq: 1 }), { qos: 1 });

    const alarm: Alarm = await eventually(async () => (await t.app.alarms.open(SITE)).find((a) => a.rule === 'door-opened-armed'), 3000);
    expect(alarm.message.en).toContain('[click](http://evil.example)');

    const raised = await eventually(() => {
      const m = bodiesFor(alarm.id, (b) => !/已确认|Acknowledged/.test(b));
      return m.size === PRESETS.length ? m : null;
    }, 5000);
    for (const preset of PRESETS) {
      const body = raised.get(preset)!;
      // The words arrive (nothing was dropped to pass the test)…
      expect(JSON.stringify(body)).toContain('click');
      // …but nowhere as live markup.
      for (const text of markupOf(preset, body)) expectInert(preset, text);
    }
    // Plain-text slots show the name exactly as written.
    expect(raised.get('feishu')).toMatchObject({ card: { header: { title: { content: expect.stringContaining('[click](http://evil.example) <!channel> **x**') } } } });

    // Our own formatting is still there.
    expect(markupOf('wecom', raised.get('wecom')!)[0]).toMatch(/^<font color="warning">\*\*【紧急】.*\*\*<\/font>\n- \*\*门店\*\*: /);
    expect(markupOf('slack', raised.get('slack')!)[1]).toMatch(/^\*Site\*: /);

    await t.app.users.createUser({ username: HOSTILE_USER, password: 'correct horse battery', role: 'operator' });
    const login = await fetch(`${t.httpUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: HOSTILE_USER, password: 'correct horse battery' }),
    });
    const { token: userToken } = (await login.json()) as { token: string };
    const ack = await fetch(`${t.httpUrl}/api/alarms/${alarm.id}/ack`, {
      method: 'POST',
      headers: { authorization: `Bearer ${userToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ comment: '[details](http://evil.example) <!channel>' }),
    });
    expect(ack.status).toBe(200);

    const followUps = await eventually(() => {
      const m = bodiesFor(alarm.id, (b) => /已确认|Acknowledged/.test(b));
      return m.size === PRESETS.length ? m : null;
    }, 5000);
    for (const preset of PRESETS) {
      const texts = markupOf(preset, followUps.get(preset)!);
      for (const text of texts) expectInert(preset, text);
      expect(texts.join('\n')).toContain('click');
      expect(texts.join('\n')).toContain('bold');
    }
    expect(followUps.get('feishu')).toMatchObject({ msg_type: 'text' });
  }, 20_000);
});
