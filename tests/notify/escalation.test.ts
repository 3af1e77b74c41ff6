import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AlarmService } from '../../server/alarms/service.ts';
import { SqliteAlarmStore } from '../../server/alarms/sqlite-store.ts';
import type { AlarmTrigger } from '../../server/alarms/types.ts';
import { ManualClock } from '../../server/clock.ts';
import { EventBus } from '../../server/events.ts';
import { WebhookChannel } from '../../server/notify/channels/webhook.ts';
import { parseNotifyConfig } from '../../server/notify/config.ts';
import { Escalator } from '../../server/notify/escalation.ts';
import { SqliteOutbox } from '../../server/notify/sqlite-outbox.ts';
import { RoutePlanner } from '../../server/notify/planner.ts';
import { DeliveryWorker } from '../../server/notify/worker.ts';
import { createLogger } from '../../server/observability/logger.ts';
import { startReceiver, tempStorage, type Receiver } from './helpers.ts';

let receiver: Receiver;
let db: Awaited<ReturnType<typeof tempStorage>>;

beforeEach(async () => {
  receiver = await startReceiver();
  db = await tempStorage();
});
afterEach(async () => {
  await receiver.close();
  await db.close();
});

function build() {
  const clock = new ManualClock();
  const bus = new EventBus();
  const config = parseNotifyConfig({
    allowPrivateNetworks: ['127.0.0.1'],
    sites: {
      'demo-hotel': {
        routes: [
          { id: 'desk', channel: 'webhook', url: `${receiver.base}/desk` },
          { id: 'manager', channel: 'webhook', url: `${receiver.base}/manager` },
          { id: 'owner', channel: 'webhook', url: `${receiver.base}/owner`, severities: ['critical'] },
        ],
        escalation: { levels: [{ afterMinutes: 5, routes: ['manager'] }, { afterMinutes: 15, routes: ['owner'] }] },
      },
    },
  });
  const outbox = new SqliteOutbox(db.storage.db, () => clock.now());
  const planner = new RoutePlanner({ config });
  const logger = createLogger({ level: 'silent' });
  const alarms = new AlarmService({ store: new SqliteAlarmStore(db.storage.db), planner, bus, clock, logger });
  const escalator = new Escalator({ alarms, config, bus, clock });
  const channel = new WebhookChannel({ config });
  const worker = new DeliveryWorker({ outbox, clock, bus, channels: { webhook: channel } });
  return { clock, bus, config, outbox, alarms, escalator, worker, planner, channel };
}

function trigger(clock: ManualClock, severity: AlarmTrigger['severity'] = 'major'): AlarmTrigger {
  return {
    site: 'demo-hotel',
    zone: 'room-1203',
    device: 'door-1203',
    rule: 'armed-door-open',
    source: 'door-1203',
    severity,
    message: { en: 'Door opened in armed room 1203', 'zh-CN': '布防房间 1203 门被打开' },
    autoClear: false,
    at: new Date(clock.now()).toISOString(),
  };
}

const paths = (r: Receiver) => r.requests.map((q) => `${q.path} ${(q.json as { event?: string }).event}`);

describe('escalation', () => {
  it('fires level 1 after N minutes unacknowledged, and stops on acknowledge', async () => {
    const { clock, alarms, escalator, worker } = build();
    await escalator.start();
    const alarm = (await alarms.raise(trigger(clock)))!;
    expect(escalator.pending().get(alarm.id)).toBe(1);
    await worker.runOnce();
    // Level 0: desk only; manager and owner are escalation routes.
    expect(paths(receiver)).toEqual(['/desk raised']);
    receiver.requests.length = 0;

    clock.advance(4 * 60_000);

    await escalator.settled();
    expect((await alarms.get(alarm.id))!.escalationLevel).toBe(0);
    clock.advance(60_000);
    await escalator.settled();
    expect((await alarms.get(alarm.id))!.escalationLevel).toBe(1);
    await worker.runOnce();
    expect(paths(receiver)).toEqual(['/manager escalated']);
    expect(escalator.pending().get(alarm.id)).toBe(2);
    receiver.requests.length = 0;

    await alarms.acknowledge(alarm.id, 'li.na');
    expect(escalator.pending().has(alarm.id)).toBe(false);
    clock.advance(30 * 60_000);
    await escalator.settled();
    expect((await alarms.get(alarm.id))!.escalationLevel).toBe(1);
    await worker.runOnce();
    // The acknowledgement follow-up goes to everyone told so far; no level 2.
    expect(paths(receiver).sort()).toEqual(['/desk acknowledged', '/manager acknowledged']);
    escalator.stop();
    await worker.stop();
  });

  it('reaches only the escalation routes, and rebuilds timers from open alarms at start', async () => {
    const { clock, alarms, escalator, worker } = build();
    const alarm = (await alarms.raise(trigger(clock)))!; // major
    await worker.runOnce();
    expect(paths(receiver)).toEqual(['/desk raised']);
    receiver.requests.length = 0;

    // The escalator starts late (a restart): level 1 is overdue and fires at once, level 2 on time.
    clock.advance(10 * 60_000);
    await escalator.settled();
    await escalator.start();
    clock.advance(0);
    await escalator.settled();
    expect((await alarms.get(alarm.id))!.escalationLevel).toBe(1);
    await worker.runOnce();
    expect(paths(receiver)).toEqual(['/manager escalated']);
    receiver.requests.length = 0;

    clock.advance(5 * 60_000);

    await escalator.settled();
    expect((await alarms.get(alarm.id))!.escalationLevel).toBe(2);
    await worker.runOnce();
    // owner takes only critical alarms: escalation respects route severities.
    expect(paths(receiver)).toEqual([]);
    await alarms.clear(alarm.id, 'li.na');
    expect(escalator.pending().size).toBe(0);
    escalator.stop();
  });

  it('a reloaded policy applies to alarms already waiting: new timing, new routes, removed levels', async () => {
    const { clock, alarms, escalator, worker, planner, channel } = build();
    await escalator.start();
    const alarm = (await alarms.raise(trigger(clock)))!;
    expect(escalator.pending().get(alarm.id)).toBe(1);
    await worker.runOnce();
    receiver.requests.length = 0;

    // notify.yaml now escalates after 2 minutes to a new route; planner and channel follow too.
    const next = parseNotifyConfig({
      allowPrivateNetworks: ['127.0.0.1'],
      sites: {
        'demo-hotel': {
          routes: [
            { id: 'desk', channel: 'webhook', url: `${receiver.base}/desk` },
            { id: 'duty', channel: 'webhook', url: `${receiver.base}/duty` },
          ],
          escalation: { levels: [{ afterMinutes: 2, routes: ['duty'] }] },
        },
      },
    });
    planner.setConfig(next);
    channel.setConfig(next);
    escalator.setConfig(next);
    await escalator.settled();
    clock.advance(2 * 60_000);
    await escalator.settled();
    expect((await alarms.get(alarm.id))!.escalationLevel).toBe(1);
    await worker.runOnce();
    expect(paths(receiver)).toEqual(['/duty escalated']);
    // No level 2 any more.
    expect(escalator.pending().has(alarm.id)).toBe(false);

    // A policy with no escalation cancels what waits.
    const other = (await alarms.raise({ ...trigger(clock), source: 'door-1204', zone: 'room-1204' }))!;
    expect(escalator.pending().get(other.id)).toBe(1);
    escalator.setConfig(parseNotifyConfig({ sites: {} }));
    await escalator.settled();
    expect(escalator.pending().size).toBe(0);
    escalator.stop();
    await worker.stop();
  });

  it('a committed alarm reaches the webhook through the nudge, without advancing the clock', async () => {
    const { clock, alarms, worker } = build();
    worker.start();
    await alarms.raise(trigger(clock, 'critical'));
    await new Promise<void>((done) => {
      const check = () => (receiver.requests.length >= 1 ? done() : setTimeout(check, 10));
      check();
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(paths(receiver)).toEqual(['/desk raised']);
    await worker.stop();
  });
});
