import { createHmac } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../server/clock.ts';
import { WebhookChannel } from '../../server/notify/channels/webhook.ts';
import { parseNotifyConfig } from '../../server/notify/config.ts';
import { SqliteOutbox } from '../../server/notify/sqlite-outbox.ts';
import { RoutePlanner } from '../../server/notify/planner.ts';
import { DeliveryWorker } from '../../server/notify/worker.ts';
import { Metrics } from '../../server/observability/metrics.ts';
import { sampleAlarm, startReceiver, tempStorage, type Receiver } from './helpers.ts';

let receiver: Receiver;
let db: Awaited<ReturnType<typeof tempStorage>>;
let clock: ManualClock;

beforeEach(async () => {
  receiver = await startReceiver();
  db = await tempStorage();
  clock = new ManualClock();
});
afterEach(async () => {
  await receiver.close();
  await db.close();
});

function setup(routes: ReadonlyArray<Record<string, unknown>>) {
  const config = parseNotifyConfig({ sites: { 'demo-hotel': { routes } }, allowPrivateNetworks: ['127.0.0.1/32'] });
  const outbox = new SqliteOutbox(db.storage.db, () => clock.now());
  const planner = new RoutePlanner({ config });
  const metrics = new Metrics({ processMetrics: false });
  // random = 1 - ε: the jitter takes its ceiling, so waits are exactly 1 s, 2 s, 4 s…
  const worker = new DeliveryWorker({ outbox, clock, metrics, channels: { webhook: new WebhookChannel({ config }) }, random: () => 0.999999, maxAttempts: 4 });
  return { config, outbox, planner, worker, metrics };
}

describe('webhook delivery through the outbox', () => {
  it('delivers a signed generic body once, with its idempotency key', async () => {
    const { outbox, planner, worker, metrics } = setup([{ id: 'ops', channel: 'webhook', url: `${receiver.base}/hook`, secret: 's3cret' }]);
    const alarm = sampleAlarm();
    await outbox.insert(planner.plan(alarm, 'raised', { level: 0, now: clock.now() }));
    // A replayed insert (same key) is ignored.
    await outbox.insert(planner.plan(alarm, 'raised', { level: 0, now: clock.now() }));
    expect(await worker.runOnce()).toBe(1);

    expect(receiver.requests).toHaveLength(1);
    const req = receiver.requests[0]!;
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['idempotency-key']).toBe('a-1:raised:0:ops');
    const expected = `sha256=${createHmac('sha256', 's3cret').update(req.body).digest('hex')}`;
    expect(req.headers['x-storetwin-signature']).toBe(expected);
    expect(Number(req.headers['x-storetwin-timestamp'])).toBeGreaterThan(1_700_000_000);
    expect(req.json).toMatchObject({ event: 'raised', alarm: { id: 'a-1', severity: 'critical' } });

    expect((await outbox.list({ limit: 10 })).items[0]).toMatchObject({ state: 'delivered', attempts: 1 });
    expect(await worker.runOnce()).toBe(0);
    expect(await metrics.registry.getSingleMetricAsString('storetwin_deliveries_total')).toContain('channel="webhook",outcome="delivered"} 1');
  });

  it('retries 503/429 with exponential backoff and keeps the same Idempotency-Key', async () => {
    const { outbox, planner, worker } = setup([{ id: 'ops', channel: 'webhook', url: `${receiver.base}/hook` }]);
    receiver.script = [503, 429];
    await outbox.insert(planner.plan(sampleAlarm(), 'raised', { level: 0, now: clock.now() }));
    const t0 = clock.now();

    await worker.runOnce();
    let d = (await outbox.list({ limit: 1 })).items[0]!;
    expect(d).toMatchObject({ state: 'pending', attempts: 1, lastError: expect.stringContaining('HTTP 503') });
    expect(d.nextAttemptAt - t0).toBe(999); // ≤ base 1 s
    expect(await worker.runOnce()).toBe(0); // not due yet

    clock.advance(1_000);
    await worker.runOnce();
    d = (await outbox.list({ limit: 1 })).items[0]!;
    expect(d.attempts).toBe(2);
    expect(d.nextAttemptAt - clock.now()).toBe(1_999); // ≤ 2 s

    clock.advance(2_000);
    await worker.runOnce();
    d = (await outbox.list({ limit: 1 })).items[0]!;
    expect(d).toMatchObject({ state: 'delivered', attempts: 3 });
    expect(receiver.requests.map((r) => r.headers['idempotency-key'])).toEqual(['a-1:raised:0:ops', 'a-1:raised:0:ops', 'a-1:raised:0:ops']);
  });

  it('a 4xx is dead at once, listed, counted, and can be retried by hand', async () => {
    const { outbox, planner, worker, metrics } = setup([{ id: 'ops', channel: 'webhook', url: `${receiver.base}/hook` }]);
    receiver.script = [404];
    await outbox.insert(planner.plan(sampleAlarm(), 'raised', { level: 0, now: clock.now() }));
    await worker.runOnce();
    const dead = (await outbox.list({ state: 'dead', limit: 10 })).items;
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ attempts: 1, lastError: expect.stringContaining('HTTP 404') });
    expect(await metrics.registry.getSingleMetricAsString('storetwin_deliveries_total')).toContain('outcome="dead"} 1');

    await outbox.retry(dead[0]!.id);
    await worker.runOnce();
    expect(await outbox.get(dead[0]!.id)).toMatchObject({ state: 'delivered' });
    await expect(outbox.retry(dead[0]!.id)).rejects.toThrow(/delivered already/);
  });

  it('dead-letters after maxAttempts retryable failures; a redirect is not followed', async () => {
    const { outbox, planner, worker } = setup([{ id: 'ops', channel: 'webhook', url: `${receiver.base}/hook` }]);
    receiver.script = [302, 500, 500, 500, 500];
    await outbox.insert(planner.plan(sampleAlarm(), 'raised', { level: 0, now: clock.now() }));
    for (let i = 0; i < 4; i++) {
      await worker.runOnce();
      clock.advance(60_000);
    }
    const d = (await outbox.list({ limit: 1 })).items[0]!;
    expect(d).toMatchObject({ state: 'dead', attempts: 4 });
    expect(receiver.requests).toHaveLength(4);
    expect(receiver.requests.every((r) => r.path === '/hook')).toBe(true);
  });

  it('a crash after claiming re-sends once the lease ends (at least once)', async () => {
    const { outbox, planner, worker } = setup([{ id: 'ops', channel: 'webhook', url: `${receiver.base}/hook` }]);
    await outbox.insert(planner.plan(sampleAlarm(), 'raised', { level: 0, now: clock.now() }));
    // A process claimed it and died before sending or marking.
    expect(await outbox.claimDue(clock.now(), 10)).toHaveLength(1);
    expect(await worker.runOnce()).toBe(0);
    clock.advance(60_000);
    expect(await worker.runOnce()).toBe(1);
    expect((await outbox.list({ limit: 1 })).items[0]).toMatchObject({ state: 'delivered' });
  });

  it('renders and sends every preset in the documented body shape, signed where the platform signs', async () => {
    const base = receiver.base;
    const routes = [
      { id: 'gen', channel: 'webhook' as const, url: `${base}/generic`, preset: 'generic' as const, language: 'en' as const },
      { id: 'wecom', channel: 'webhook' as const, url: `${base}/wecom?key=k`, preset: 'wecom' as const },
      { id: 'ding', channel: 'webhook' as const, url: `${base}/ding?access_token=t`, preset: 'dingtalk' as const, secret: 'SECding' },
      { id: 'feishu', channel: 'webhook' as const, url: `${base}/feishu`, preset: 'feishu' as const, secret: 'fsecret' },
      { id: 'slack', channel: 'webhook' as const, url: `${base}/slack`, preset: 'slack' as const, language: 'en' as const },
    ];
    const { outbox, planner, worker } = setup(routes);
    const alarm = sampleAlarm({ snapshot: { status: 'attached', id: 'abc', camera: 'cam-1', at: '2026-11-23T02:00:01Z', url: 'https://twin.example.com/api/snapshots/abc' } });
    await outbox.insert(planner.plan(alarm, 'raised', { level: 0, now: clock.now() }));
    await worker.runOnce();
    const by = (p: string) => receiver.requests.find((r) => r.path.startsWith(p))!;

    expect(by('/generic').json).toMatchObject({ event: 'raised', alarm: { id: 'a-1' } });

    const wecom = by('/wecom').json as { msgtype: string; markdown: { content: string } };
    expect(wecom.msgtype).toBe('markdown');
    expect(wecom.markdown.content).toContain('布防房间 1203 门被打开');
    expect(wecom.markdown.content).toContain('https://twin.example.com/api/snapshots/abc');

    const ding = by('/ding');
    expect(ding.json).toMatchObject({ msgtype: 'markdown', markdown: { title: expect.stringContaining('紧急'), text: expect.stringContaining('现场抓拍') } });
    const q = new URL(ding.path, base).searchParams;
    expect(q.get('access_token')).toBe('t');
    const ts = q.get('timestamp')!;
    expect(q.get('sign')).toBe(createHmac('sha256', 'SECding').update(`${ts}\nSECding`).digest('base64'));

    const feishu = by('/feishu').json as { msg_type: string; timestamp: string; sign: string; card: { header: { title: { content: string } } } };
    expect(feishu.msg_type).toBe('interactive');
    expect(feishu.card.header.title.content).toContain('1203');
    expect(feishu.sign).toBe(createHmac('sha256', `${feishu.timestamp}\nfsecret`).update('').digest('base64'));

    const slack = by('/slack').json as { text: string; blocks: Array<{ type: string }> };
    expect(slack.text).toBe('[Critical] Door opened in armed room 1203');
    expect(slack.blocks.map((b) => b.type)).toEqual(['header', 'section']);

    // Follow-up: acknowledged goes to everyone told, Feishu as text.
    const acked = { ...alarm, state: 'acknowledged' as const, acknowledged: true, acknowledgedBy: 'li.na', acknowledgedAt: '2026-11-23T02:03:00Z' };
    const follow = planner.plan(acked, 'acknowledged', { level: 0, now: clock.now() });
    expect(follow.map((d) => d.route).sort()).toEqual(['ding', 'feishu', 'gen', 'slack', 'wecom']);
    expect(follow.find((d) => d.route === 'feishu')!.payload).toMatchObject({ msg_type: 'text', content: { text: expect.stringContaining('已确认') } });
    // Repeats and comments notify nobody.
    expect(planner.plan(alarm, 'repeated', { level: 0, now: clock.now() })).toEqual([]);
  });

  it('a platform error code in a 200 answer is dead; its rate limit is retried', async () => {
    const { outbox, planner, worker } = setup([{ id: 'ding', channel: 'webhook', url: `${receiver.base}/ding`, preset: 'dingtalk' }]);
    receiver.okBody = '{"errcode":130101,"errmsg":"send too fast"}';
    await outbox.insert(planner.plan(sampleAlarm(), 'raised', { level: 0, now: clock.now() }));
    await worker.runOnce();
    expect((await outbox.list({ limit: 1 })).items[0]).toMatchObject({ state: 'pending', lastError: expect.stringContaining('130101') });
    receiver.okBody = '{"errcode":310000,"errmsg":"sign not match"}';
    clock.advance(5_000);
    await worker.runOnce();
    expect((await outbox.list({ limit: 1 })).items[0]).toMatchObject({ state: 'dead', lastError: expect.stringContaining('310000') });
  });

  it('routes by severity and on-call hours', async () => {
    const { planner } = setup([
      { id: 'night', channel: 'webhook', url: `${receiver.base}/n`, hours: [{ days: ['mon'], from: '22:00', to: '06:00' }] },
      { id: 'day', channel: 'webhook', url: `${receiver.base}/d`, hours: [{ days: ['mon', 'tue'], from: '08:00', to: '18:00' }] },
      { id: 'minor-only', channel: 'webhook', url: `${receiver.base}/m`, severities: ['minor'] },
    ]);
    // 2026-11-23 is a Monday; 02:00Z = 10:00 in Asia/Shanghai; 2026-11-23T19:00Z = Tue 03:00.
    expect(planner.plan(sampleAlarm(), 'raised', { level: 0, now: Date.parse('2026-11-23T02:00:00Z') }).map((d) => d.route)).toEqual(['day']);
    expect(planner.plan(sampleAlarm(), 'raised', { level: 0, now: Date.parse('2026-11-23T19:00:00Z') }).map((d) => d.route)).toEqual(['night']);
    expect(planner.plan(sampleAlarm({ severity: 'minor' }), 'raised', { level: 0, now: Date.parse('2026-11-24T12:00:00Z') }).map((d) => d.route)).toEqual(['minor-only']);
  });
});
