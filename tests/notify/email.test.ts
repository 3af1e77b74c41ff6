import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../server/clock.ts';
import { EmailChannel } from '../../server/notify/channels/email.ts';
import { parseNotifyConfig } from '../../server/notify/config.ts';
import { SqliteOutbox } from '../../server/notify/sqlite-outbox.ts';
import { RoutePlanner } from '../../server/notify/planner.ts';
import { DeliveryWorker } from '../../server/notify/worker.ts';
import { eventually, sampleAlarm, startSmtp, tempStorage } from './helpers.ts';

let smtp: Awaited<ReturnType<typeof startSmtp>>;
let db: Awaited<ReturnType<typeof tempStorage>>;

beforeEach(async () => {
  smtp = await startSmtp();
  db = await tempStorage();
});
afterEach(async () => {
  await smtp.close();
  await db.close();
});

describe('email channel', () => {
  it('sends the alarm over SMTP with its subject and text', async () => {
    const clock = new ManualClock();
    const config = parseNotifyConfig({
      smtp: { host: '127.0.0.1', port: smtp.port, secure: false, from: 'StoreTwin <alarms@storetwin.test>' },
      sites: { '*': { routes: [{ id: 'night-manager', channel: 'email', to: ['manager@hotel.test'], language: 'en' }] } },
    });
    const outbox = new SqliteOutbox(db.storage.db, () => clock.now());
    const planner = new RoutePlanner({ config });
    const channel = new EmailChannel({ config, timeoutMs: 5_000 });
    const worker = new DeliveryWorker({ outbox, clock, channels: { email: channel } });
    await outbox.insert(planner.plan(sampleAlarm(), 'raised', { level: 0, now: clock.now() }));
    await worker.runOnce();
    expect((await outbox.list({ limit: 1 })).items[0]).toMatchObject({ state: 'delivered', channel: 'email' });
    await eventually(() => expect(smtp.mails).toHaveLength(1));
    const mail = smtp.mails[0]!;
    expect(mail.to).toEqual(['manager@hotel.test']);
    expect(mail.from).toBe('alarms@storetwin.test');
    expect(mail.raw).toMatch(/^Subject: StoreTwin: \[Critical\] Door opened in armed room 1203/m);
    expect(mail.raw).toContain('Door opened in armed room 1203');
    expect(mail.raw).toContain('a-1:raised:0:night-manager');
    channel.close();
  });

  it('an unreachable SMTP server is retried, not dead', async () => {
    const clock = new ManualClock();
    const port = smtp.port;
    await smtp.close();
    const config = parseNotifyConfig({
      smtp: { host: '127.0.0.1', port, from: 'alarms@storetwin.test' },
      sites: { '*': { routes: [{ id: 'm', channel: 'email', to: ['m@hotel.test'] }] } },
    });
    const outbox = new SqliteOutbox(db.storage.db, () => clock.now());
    await outbox.insert(new RoutePlanner({ config }).plan(sampleAlarm(), 'raised', { level: 0, now: clock.now() }));
    await new DeliveryWorker({ outbox, clock, channels: { email: new EmailChannel({ config, timeoutMs: 2_000 }) } }).runOnce();
    expect((await outbox.list({ limit: 1 })).items[0]).toMatchObject({ state: 'pending', attempts: 1, lastError: expect.stringContaining('SMTP') });
    smtp = await startSmtp(); // afterEach closes it
  });
});
