/**
 * `GET /api/notify/routes` and `POST /api/notify/routes/{id}/test` against a real app: admins
 * only (integrations:manage), a site-limited admin sees and tests only its sites' routes (others
 * are 404, '*' routes included), targets never show their secrets, and a test message goes out
 * at once to a real webhook receiver and a real SMTP server — not through the outbox — with the
 * receiver's answer passed back (502 when it refused).
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminToken, startTestApp, tempDir, type TestApp } from '../helpers/app.ts';
import { startReceiver, type Receiver } from '../helpers/receiver.ts';
import { eventually, startSmtp } from './helpers.ts';

let t: TestApp;
let receiver: Receiver;
let smtp: Awaited<ReturnType<typeof startSmtp>>;
const tokens: Record<string, string> = {};

const SECRETS = ['WECOMKEY', 'GENERICTOKEN', 'hunter2'];

/** The answers' fields read here: a route list, a test result or an error. */
interface Answer {
  items: Array<{ id: string; site: string; [field: string]: unknown }>;
  file: string;
  loadedAt: string;
  rejected: unknown;
  error: { code: string; detail: unknown };
}

async function call(who: string | null, method: string, url: string, body?: unknown): Promise<{ status: number; json: Answer }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (who) headers.authorization = `Bearer ${tokens[who]}`;
  const res = await fetch(`${t.httpUrl}${url}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: (text ? JSON.parse(text) : null) as Answer };
}

async function login(username: string, role: string, sites: string[] = []): Promise<void> {
  await t.app.users.createUser({ username, password: 'correct horse battery', role: role as 'admin', sites });
  tokens[username] = (await t.app.users.login(username, 'correct horse battery')).token;
}

beforeAll(async () => {
  receiver = await startReceiver();
  smtp = await startSmtp();
  const dataDir = await tempDir();
  await writeFile(
    path.join(dataDir, 'notify.yaml'),
    [
      `allowPrivateNetworks: ["127.0.0.1"]`,
      `smtp: { host: 127.0.0.1, port: ${smtp.port}, from: "StoreTwin <alarms@storetwin.test>" }`,
      `sites:`,
      `  '*':`,
      `    routes:`,
      `      - { id: all, channel: webhook, url: "${receiver.url}/all?token=GENERICTOKEN", language: en }`,
      `  demo-hotel:`,
      `    routes:`,
      `      - { id: desk, channel: webhook, preset: wecom, url: "${receiver.url}/wecom?key=WECOMKEY", severities: [critical, major], hours: [{ from: '22:00', to: '06:00' }] }`,
      `      - { id: ops, channel: webhook, preset: feishu, url: "${receiver.url}/hotel-ops" }`,
      `      - { id: creds, channel: webhook, url: "${receiver.url.replace('://', '://bot:hunter2@')}/creds" }`,
      `  demo-shop:`,
      `    routes:`,
      `      - { id: ops, channel: webhook, preset: dingtalk, url: "${receiver.url}/shop-ops", language: en }`,
      `      - { id: manager, channel: email, to: [manager@shop.test], language: en }`,
    ].join('\n'),
  );
  t = await startTestApp({ publicUrl: 'https://twin.example.com' }, { dataDir });
  tokens.admin = await adminToken(t.app);
  await login('shop-admin', 'admin', ['demo-shop']);
  await login('mgr', 'manager');
  await login('tech', 'technician');
}, 60_000);

afterAll(async () => {
  await t?.stop();
  await receiver?.close();
  await smtp?.close();
});

describe('GET /api/notify/routes', () => {
  it('lists every route in force for an admin, targets without secrets', async () => {
    const { status, json } = await call('admin', 'GET', '/api/notify/routes');
    expect(status).toBe(200);
    expect(json.items.map((r) => `${r.site}/${r.id}`)).toEqual(['*/all', 'demo-hotel/desk', 'demo-hotel/ops', 'demo-hotel/creds', 'demo-shop/ops', 'demo-shop/manager']);
    expect(json.items[1]).toEqual({
      id: 'desk',
      site: 'demo-hotel',
      channel: 'webhook',
      preset: 'wecom',
      severities: ['critical', 'major'],
      hours: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], from: '22:00', to: '06:00' }],
      language: 'zh-CN',
      target: `${receiver.url}/wecom?…`,
    });
    expect(json.items[0]).toMatchObject({ preset: 'generic', target: `${receiver.url}/all?…`, hours: null, language: 'en' });
    expect(json.items[3]).toMatchObject({ target: `${receiver.url}/creds` });
    expect(json.items[5]).toMatchObject({ channel: 'email', preset: null, target: 'manager@shop.test' });
    expect(json.file).toBe(path.join(t.dataDir, 'notify.yaml'));
    expect(Number.isNaN(Date.parse(json.loadedAt))).toBe(false);
    expect(json.rejected).toBeNull();
    for (const secret of SECRETS) expect(JSON.stringify(json)).not.toContain(secret);
  });

  it("a site-limited admin sees its sites' routes only, not the '*' ones", async () => {
    const { status, json } = await call('shop-admin', 'GET', '/api/notify/routes');
    expect(status).toBe(200);
    expect(json.items.map((r) => `${r.site}/${r.id}`)).toEqual(['demo-shop/ops', 'demo-shop/manager']);
  });

  it('is refused to other roles and without a session', async () => {
    for (const who of ['mgr', 'tech']) {
      const { status, json } = await call(who, 'GET', '/api/notify/routes');
      expect(status).toBe(403);
      expect(json.error.code).toBe('STW_ERR_FORBIDDEN');
    }
    expect((await call(null, 'GET', '/api/notify/routes')).status).toBe(401);
  });
});

describe('POST /api/notify/routes/{id}/test', () => {
  it('sends a test message through the route now and answers the receiver status; nothing goes to the outbox', async () => {
    receiver.requests.length = 0;
    const { status, json } = await call('admin', 'POST', '/api/notify/routes/desk/test', {});
    expect(status).toBe(200);
    expect(json).toMatchObject({ delivered: true, status: 200, route: { id: 'desk', site: 'demo-hotel', preset: 'wecom' } });
    expect(receiver.requests).toHaveLength(1);
    const req = receiver.requests[0]!;
    expect(req.path).toBe('/wecom?key=WECOMKEY');
    const content = (JSON.parse(req.body) as { markdown: { content: string } }).markdown.content;
    expect(content).toContain('测试消息');
    expect(content).toContain('演示酒店');
    expect(content).toContain('(Asia/Shanghai)');
    expect(content).toContain('](https://twin.example.com/)');
    expect(req.headers['idempotency-key']).toMatch(/^test:demo-hotel:desk:\d+$/);
    expect((await call('admin', 'GET', '/api/deliveries')).json.items).toEqual([]);
  });

  it("a '*' route and an email route", async () => {
    const all = await call('admin', 'POST', '/api/notify/routes/all/test');
    expect(all.status).toBe(200);
    const generic = JSON.parse(receiver.requests.at(-1)!.body) as { summary: { fields: unknown[] } };
    expect(generic).toMatchObject({ event: 'test', test: { route: 'all', site: '*', by: 'admin' }, summary: { title: expect.stringContaining('Test message from StoreTwin') } });
    expect(generic.summary.fields).toContainEqual({ label: 'Site', value: 'All sites' });

    const mail = await call('admin', 'POST', '/api/notify/routes/manager/test', { site: 'demo-shop' });
    expect(mail.status).toBe(200);
    expect(mail.json).toMatchObject({ delivered: true, status: 250 });
    await eventually(() => expect(smtp.mails.some((m) => m.to.includes('manager@shop.test') && /Test message from StoreTwin/.test(m.raw))).toBe(true));
  });

  it('an id used by several sites needs the site; an unknown one is 404', async () => {
    const ambiguous = await call('admin', 'POST', '/api/notify/routes/ops/test', {});
    expect(ambiguous.status).toBe(400);
    expect(ambiguous.json.error.code).toBe('STW_ERR_VALIDATION');
    expect(JSON.stringify(ambiguous.json.error.detail)).toContain('demo-hotel, demo-shop');

    receiver.requests.length = 0;
    const shop = await call('admin', 'POST', '/api/notify/routes/ops/test', { site: 'demo-shop' });
    expect(shop.status).toBe(200);
    expect(receiver.requests.map((r) => r.path)).toEqual(['/shop-ops']);
    expect(JSON.parse(receiver.requests[0]!.body)).toMatchObject({ msgtype: 'markdown', markdown: { title: expect.stringContaining('Test message from StoreTwin'), text: expect.stringContaining('Demo Shop') } });

    const unknown = await call('admin', 'POST', '/api/notify/routes/nobody/test', {});
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.code).toBe('STW_ERR_NOTIFY_ROUTE_NOT_FOUND');
  });

  it("a site-limited admin tests its sites' routes; others' are 404 as if they did not exist", async () => {
    expect((await call('shop-admin', 'POST', '/api/notify/routes/ops/test', {})).status).toBe(200);
    receiver.requests.length = 0;
    for (const [id, body] of [['desk', {}], ['ops', { site: 'demo-hotel' }], ['all', {}], ['all', { site: '*' }]] as const) {
      const res = await call('shop-admin', 'POST', `/api/notify/routes/${id}/test`, body);
      expect(res.status, `${id} ${JSON.stringify(body)}`).toBe(404);
      expect(res.json.error.code).toBe('STW_ERR_NOTIFY_ROUTE_NOT_FOUND');
    }
    expect(receiver.requests).toEqual([]);
  });

  it('is refused to other roles', async () => {
    receiver.requests.length = 0;
    for (const who of ['mgr', 'tech']) {
      const res = await call(who, 'POST', '/api/notify/routes/desk/test', {});
      expect(res.status).toBe(403);
      expect(res.json.error.code).toBe('STW_ERR_FORBIDDEN');
    }
    expect((await call(null, 'POST', '/api/notify/routes/desk/test', {})).status).toBe(401);
    expect(receiver.requests).toEqual([]);
  });

  it('a receiver that refuses is 502 with its status, once, without retries', async () => {
    receiver.requests.length = 0;
    receiver.respond = () => 503;
    try {
      const res = await call('admin', 'POST', '/api/notify/routes/desk/test', {});
      expect(res.status).toBe(502);
      expect(res.json.error.code).toBe('STW_ERR_NOTIFY_TEST_FAILED');
      expect(res.json.error.detail).toMatchObject({ delivered: false, status: 503, error: expect.stringContaining('HTTP 503') });
      // The error names the target without its secrets.
      for (const secret of SECRETS) expect(JSON.stringify(res.json)).not.toContain(secret);
    } finally {
      receiver.respond = () => 200;
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.requests).toHaveLength(1);
  });

  it('a route the SSRF guard refuses is 502 with the reason, and nothing is sent', async () => {
    receiver.requests.length = 0;
    const res = await call('admin', 'POST', '/api/notify/routes/creds/test', {});
    expect(res.status).toBe(502);
    expect(res.json.error).toMatchObject({ code: 'STW_ERR_NOTIFY_TEST_FAILED', detail: { delivered: false, status: null, error: expect.stringContaining('STW_ERR_WEBHOOK_URL_FORBIDDEN') } });
    expect(JSON.stringify(res.json)).not.toContain('hunter2');
    expect(receiver.requests).toEqual([]);
  });
});
