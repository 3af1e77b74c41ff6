/**
 * The rules engine as one worker of several: it evaluates only the sites it holds, takes a
 * site's stored timers over when it acquires the site (from the worker that had it), and stops
 * a lost site's timers without firing them — the new owner fires them, once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { HeldSites } from '../helpers/held-sites.ts';
import { rule, startRig, type Rig } from './setup.ts';

const msg = { en: 'door {zone} open', 'zh-CN': '{zone} 门开着' };
const openLong = rule({ id: 'open-long', severity: 'major', message: msg, when: { kind: 'duration', where: [{ field: 'door', op: 'eq', value: 'open' }], seconds: 300 } });
const lowBattery = rule({ id: 'low-battery', severity: 'minor', message: msg, when: { kind: 'event', event: 'heartbeat', where: [{ field: 'battery', op: 'lt', value: 2.9 }] } });

let rig: Rig;
afterEach(async () => {
  await rig?.engine.stop();
  await rig?.close();
});

describe('rules engine in a worker of several', () => {
  it('evaluates only the sites it holds', async () => {
    rig = await startRig({ rules: [lowBattery] });
    await rig.engine.stop();
    const owner = new HeldSites('demo-hotel');
    rig.engine = rig.newEngine(undefined, owner);
    await rig.engine.start();
    await rig.register('door-3-01', 'shop-door-south');
    rig.send('shop-door-south', { type: 'heartbeat', battery: 2.5 });
    expect(rig.triggered).toEqual([]);
    rig.send('door-3-01', { type: 'heartbeat', battery: 2.5 });
    expect(rig.triggered.map((t) => t.site)).toEqual(['demo-hotel']);
  });

  it('hands a pending timer over: the old owner stops it, the new owner fires it once, on time', async () => {
    rig = await startRig({ rules: [openLong] });
    await rig.engine.stop();
    const ownerA = new HeldSites('demo-hotel');
    const ownerB = new HeldSites();
    const a = rig.newEngine(undefined, ownerA);
    const b = rig.newEngine(undefined, ownerB);
    await a.start();
    await b.start();
    rig.engine = a;
    await rig.register('door-2-20');
    rig.send('door-2-20', { type: 'door', state: 'open' }); // both engines hear the bus; only A holds the hotel
    rig.clock.advance(200_000);
    await a.flushed();

    ownerA.lose('demo-hotel'); // A lets go (its timer rows are written)…
    await a.flushed();
    ownerB.acquire('demo-hotel'); // …and B takes the site over from the store
    await new Promise((r) => setTimeout(r, 50)); // B reads the site's timers
    rig.clock.advance(99_000);
    expect(rig.triggered).toEqual([]);
    rig.clock.advance(1_000);
    expect(rig.triggered).toHaveLength(1); // once: A's timer did not fire
    expect(rig.triggered[0]).toMatchObject({ site: 'demo-hotel', source: 'demo-hotel/2-20', rule: 'open-long' });
    await b.stop();
  });
});
