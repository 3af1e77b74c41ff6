import { afterEach, describe, expect, it } from 'vitest';
import { rule, startRig, type Rig } from './setup.ts';

const msg = { en: '{zone} {device} {value} {minutes}', 'zh-CN': '{zone} {device} {value} {minutes}' };
let rig: Rig | null = null;
afterEach(async () => {
  await rig?.engine.stop();
  await rig?.close();
  rig = null;
});

describe('rule kinds', () => {
  it('event: door opened in an armed zone fires, only when armed, and resolves on close', async () => {
    rig = await startRig({
      rules: [
        rule({
          id: 'door-armed',
          severity: 'critical',
          message: { en: 'Door opened in armed zone {zone} ({site})', 'zh-CN': '{site} {zone} 布防区域门被打开' },
          when: { kind: 'event', event: 'door', where: [{ field: 'state', op: 'eq', value: 'open' }], zoneArmed: true, per: 'zone' },
        }),
      ],
    });
    await rig.register('door-2-14');
    rig.send('door-2-14', { type: 'door', state: 'open' });
    expect(rig.triggered).toEqual([]);
    rig.send('door-2-14', { type: 'door', state: 'closed' });
    rig.arming.armed.add('demo-hotel/2-14');
    rig.send('door-2-14', { type: 'door', state: 'open' });
    expect(rig.triggered).toHaveLength(1);
    const t = rig.triggered[0];
    expect(t).toMatchObject({ site: 'demo-hotel', zone: '2-14', device: 'door-2-14', rule: 'door-armed', source: 'demo-hotel/2-14', severity: 'critical', autoClear: true });
    expect(t?.message.en).toBe('Door opened in armed zone 214 (Demo Hotel)');
    expect(t?.message['zh-CN']).toMatch(/布防区域门被打开/);
    rig.send('door-2-14', { type: 'door', state: 'closed' });
    expect(rig.resolved).toMatchObject([{ rule: 'door-armed', source: 'demo-hotel/2-14', site: 'demo-hotel' }]);
  });

  it('event: low battery fires below the threshold and resolves when it is back over', async () => {
    rig = await startRig({
      rules: [rule({ id: 'low-battery', severity: 'minor', message: msg, when: { kind: 'event', event: 'heartbeat', where: [{ field: 'battery', op: 'lt', value: 2.9 }] } })],
    });
    await rig.register('door-3-01');
    rig.send('door-3-01', { type: 'heartbeat', battery: 3.0, rsrp: -90 });
    rig.send('door-3-01', { type: 'heartbeat', battery: 2.85, rsrp: -90 });
    expect(rig.triggered).toHaveLength(1);
    expect(rig.triggered[0]?.message.en).toContain('2.85');
    rig.send('door-3-01', { type: 'heartbeat', rsrp: -90 }); // no battery field: says nothing
    expect(rig.resolved).toHaveLength(0);
    rig.send('door-3-01', { type: 'heartbeat', battery: 2.95 });
    expect(rig.resolved).toHaveLength(1);
  });

  it('duration: a room door open for 5 minutes fires on time and resolves on close', async () => {
    rig = await startRig({
      rules: [rule({ id: 'open-long', severity: 'major', zoneKinds: ['room'], message: msg, when: { kind: 'duration', where: [{ field: 'door', op: 'eq', value: 'open' }], seconds: 300 } })],
    });
    await rig.register('door-2-05');
    rig.send('door-2-05', { type: 'door', state: 'open' });
    rig.clock.advance(299_000);
    expect(rig.triggered).toHaveLength(0);
    rig.clock.advance(1_000);
    expect(rig.triggered).toHaveLength(1);
    expect(rig.triggered[0]).toMatchObject({ source: 'demo-hotel/2-05', zone: '2-05', severity: 'major' });
    expect(rig.triggered[0]?.message.en).toContain(' 5');
    rig.send('door-2-05', { type: 'door', state: 'closed' });
    expect(rig.resolved).toHaveLength(1);
    // Closed before the time: nothing.
    rig.send('door-2-05', { type: 'door', state: 'open' });
    rig.clock.advance(100_000);
    rig.send('door-2-05', { type: 'door', state: 'closed' });
    rig.clock.advance(600_000);
    expect(rig.triggered).toHaveLength(1);
  });

  it('duration: hall occupancy over capacity for 10 minutes', async () => {
    rig = await startRig({
      rules: [
        rule({ id: 'over-capacity', severity: 'warning', zoneKinds: ['hall'], message: msg, when: { kind: 'duration', where: [{ field: 'occupancy', op: 'gt', value: { ref: 'capacity' } }], seconds: 600 } }),
      ],
    });
    await rig.register('shop-counter-south');
    rig.send('shop-counter-south', { type: 'count', in: 70, out: 0, period: 60 });
    rig.clock.advance(300_000);
    rig.send('shop-counter-south', { type: 'count', in: 1, out: 2, period: 60 });
    rig.clock.advance(300_000);
    expect(rig.triggered).toHaveLength(1);
    expect(rig.triggered[0]).toMatchObject({ source: 'demo-shop/sales-hall', severity: 'warning' });
    expect(rig.triggered[0]?.message.en).toContain('70');
    rig.send('shop-counter-south', { type: 'count', in: 0, out: 20, period: 60 });
    expect(rig.resolved).toHaveLength(1);
  });

  it('silence: a device not heard for heartbeat × 2 fires, and resolves when it reports again', async () => {
    rig = await startRig({ rules: [rule({ id: 'silent', severity: 'major', message: msg, when: { kind: 'silence', factor: 2 } })] });
    await rig.register('door-4-01', 'cam-4-a');
    rig.send('door-4-01', { type: 'heartbeat', battery: 3.1 });
    rig.send('cam-4-a', { type: 'heartbeat' });
    rig.clock.advance(20 * 60_000); // camera: 10-minute heartbeat × 2
    expect(rig.triggered.map((t) => t.source)).toEqual(['cam-4-a']);
    rig.clock.advance(2 * 3600_000 - 20 * 60_000 - 1000);
    expect(rig.triggered).toHaveLength(1);
    rig.clock.advance(1000); // NB-IoT door: hourly heartbeat × 2
    expect(rig.triggered.map((t) => t.source)).toEqual(['cam-4-a', 'door-4-01']);
    expect(rig.triggered[1]?.message.en).toContain('120');
    rig.send('door-4-01', { type: 'heartbeat', battery: 3.1 });
    expect(rig.resolved.map((r) => r.source)).toEqual(['door-4-01']);
  });

  it('correlation: door opened and camera motion in an armed cash room → one critical trigger', async () => {
    rig = await startRig({
      rules: [
        rule({
          id: 'intrusion',
          site: 'demo-shop',
          zoneKinds: ['office', 'cash-room'],
          severity: 'critical',
          message: { en: 'Intrusion confirmed in {zone}', 'zh-CN': '{zone} 确认入侵' },
          when: { kind: 'correlation', first: { event: 'door', where: [{ field: 'state', op: 'eq', value: 'open' }] }, second: { event: 'motion' }, withinS: 60, zoneArmed: true },
        }),
      ],
    });
    await rig.register('shop-door-cash', 'shop-cam-cash', 'shop-cam-hall-sw');
    rig.arming.armed.add('demo-shop/cash-room');
    rig.send('shop-door-cash', { type: 'door', state: 'open' });
    rig.clock.advance(90_000);
    rig.send('shop-cam-cash', { type: 'motion' }); // too late
    expect(rig.triggered).toHaveLength(0);
    rig.send('shop-cam-hall-sw', { type: 'motion' }); // a camera that does not watch the cash room
    rig.clock.advance(20_000);
    rig.send('shop-door-cash', { type: 'door', state: 'open' }); // motion 20 s before the door: either order
    expect(rig.triggered).toHaveLength(1);
    expect(rig.triggered[0]).toMatchObject({ source: 'demo-shop/cash-room', severity: 'critical', autoClear: false });
    expect(rig.triggered[0]?.message['zh-CN']).toBe('收银室 确认入侵');
  });

  it('count: more than 6 door openings in 10 minutes in a room', async () => {
    rig = await startRig({
      rules: [
        rule({ id: 'busy', severity: 'warning', zoneKinds: ['room'], message: { en: '{count} in {minutes}', 'zh-CN': '{count}' }, when: { kind: 'count', match: { event: 'door', where: [{ field: 'state', op: 'eq', value: 'open' }] }, moreThan: 6, windowS: 600 } }),
      ],
    });
    await rig.register('door-5-10');
    for (let i = 0; i < 6; i++) {
      rig.send('door-5-10', { type: 'door', state: 'open' });
      rig.send('door-5-10', { type: 'door', state: 'closed' });
      rig.clock.advance(110_000);
    }
    expect(rig.triggered).toHaveLength(0);
    rig.send('door-5-10', { type: 'door', state: 'open' }); // 7th within 660 s? the first is 660 s old: slid out
    expect(rig.triggered).toHaveLength(0);
    rig.clock.advance(10_000);
    rig.send('door-5-10', { type: 'door', state: 'open' });
    expect(rig.triggered).toHaveLength(1);
    expect(rig.triggered[0]).toMatchObject({ source: 'demo-hotel/5-10', zone: '5-10' });
    expect(rig.triggered[0]?.message.en).toBe('7 in 10');
  });

  it('absence: zero footfall for 30 minutes during opening hours fires per counter, and resolves on a count', async () => {
    // 01:00Z = 09:00 in Asia/Shanghai, when the demo shop opens.
    rig = await startRig({
      start: Date.parse('2026-11-23T00:00:00Z'),
      rules: [
        rule({ id: 'no-footfall', site: 'demo-shop', severity: 'minor', message: msg, when: { kind: 'absence', match: { event: 'count', deviceTypes: ['footfall-counter'], where: [{ field: 'in', op: 'gt', value: 0 }] }, windowS: 1800 } }),
      ],
    });
    await rig.register('shop-counter-south', 'shop-counter-north');
    rig.clock.advance(3600_000 + 20 * 60_000); // 09:20 local
    rig.send('shop-counter-north', { type: 'count', in: 3, out: 1, period: 60 });
    rig.send('shop-counter-south', { type: 'count', in: 0, out: 0, period: 60 }); // a zero count is no footfall
    rig.clock.advance(10 * 60_000 - 1000); // 09:29:59
    expect(rig.triggered).toHaveLength(0);
    rig.clock.advance(1000);
    expect(rig.triggered.map((t) => t.source)).toEqual(['shop-counter-south']);
    rig.clock.advance(20 * 60_000); // 09:50: north silent for 30 min
    expect(rig.triggered.map((t) => t.source)).toEqual(['shop-counter-south', 'shop-counter-north']);
    rig.send('shop-counter-south', { type: 'count', in: 2, out: 0, period: 60 });
    expect(rig.resolved.map((r) => r.source)).toEqual(['shop-counter-south']);
  });

  it('opening-hours: entrance opened before opening, and still open after closing', async () => {
    rig = await startRig({
      start: Date.parse('2026-11-23T00:00:00Z'), // 08:00 local, the shop opens at 09:00
      rules: [rule({ id: 'hours', site: 'demo-shop', zoneKinds: ['entrance'], severity: 'major', message: { en: '{zone} open outside {hours} at {time}', 'zh-CN': '{zone}' }, when: { kind: 'opening-hours' } })],
    });
    await rig.register('shop-door-south', 'shop-door-north', 'shop-door-office');
    rig.send('shop-door-office', { type: 'door', state: 'open' }); // not an entrance
    rig.send('shop-door-south', { type: 'door', state: 'open' });
    expect(rig.triggered).toHaveLength(1);
    expect(rig.triggered[0]?.message.en).toBe('South entrance open outside 09:00–21:00 at 08:00');
    rig.send('shop-door-south', { type: 'door', state: 'closed' });
    expect(rig.resolved).toHaveLength(1);
    rig.clock.advance(3 * 3600_000); // 11:00 local
    rig.send('shop-door-north', { type: 'door', state: 'open' });
    expect(rig.triggered).toHaveLength(1);
    rig.clock.set(Date.parse('2026-11-23T13:00:00Z') - 1); // 20:59:59.999
    expect(rig.triggered).toHaveLength(1);
    rig.clock.advance(1); // 21:00: north is still open
    expect(rig.triggered).toHaveLength(2);
    expect(rig.triggered[1]).toMatchObject({ source: 'demo-shop/entrance-north', severity: 'major' });
  });

  it('duration timers survive a restart', async () => {
    const rules = [rule({ id: 'open-long', severity: 'major', zoneKinds: ['room'], message: msg, when: { kind: 'duration', where: [{ field: 'door', op: 'eq', value: 'open' }], seconds: 300 } })];
    rig = await startRig({ rules });
    await rig.register('door-2-20');
    rig.send('door-2-20', { type: 'door', state: 'open' });
    rig.clock.advance(200_000);
    await rig.engine.stop();
    expect(rig.storage.db.prepare('SELECT rule, source FROM rule_timers').all()).toEqual([{ rule: 'open-long', source: 'demo-hotel/2-20' }]);
    rig.clock.advance(60_000); // down for a minute
    const second = rig.newEngine();
    await second.start();
    rig.engine = second;
    rig.clock.advance(39_000);
    expect(rig.triggered).toHaveLength(0);
    rig.clock.advance(1_000);
    expect(rig.triggered).toHaveLength(1);
    expect(rig.triggered[0]?.message.en).toContain(' 5'); // held 5 minutes, restart included
    // The fired state is kept too: a third engine still resolves it when the door closes.
    await second.stop();
    const third = rig.newEngine();
    await third.start();
    rig.engine = third;
    rig.send('door-2-20', { type: 'door', state: 'closed' });
    expect(rig.resolved.map((r) => r.source)).toEqual(['demo-hotel/2-20']);
    // Timer rows are written together at the end of the turn.
    await third.flushed();
    expect(rig.storage.db.prepare('SELECT count(*) AS n FROM rule_timers').get()).toEqual({ n: 0 });
  });
});
