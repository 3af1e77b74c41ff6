/**
 * The engine writes its timers behind it: one saveTurn per turn of the event loop, chained, so
 * a slow commit (PostgreSQL over the network) never lets a later turn overtake it, and a failed
 * one neither stops the timers in memory nor the turns after it.
 */
import { createRuleTimerStore } from '../../server/stores.ts';
import { afterEach, describe, expect, it } from 'vitest';
import { RuleEngine } from '../../server/rules/engine.ts';
import { staticRules } from '../../server/rules/store.ts';
import { type RuleTimer, type RuleTimerKey, type RuleTimerStore } from '../../server/rules/timer-store.ts';
import { logger, rule, startRig, type Rig } from './setup.ts';

const msg = { en: '{zone} open {minutes} min', 'zh-CN': '{zone} 开门 {minutes} 分钟' };
const openLong = rule({ id: 'open-long', severity: 'major', zoneKinds: ['room'], message: msg, when: { kind: 'duration', where: [{ field: 'door', op: 'eq', value: 'open' }], seconds: 300 } });
const turn = () => new Promise((resolve) => setImmediate(resolve));

/** Wraps a store: records each turn as it starts and ends, and lets a test slow or fail some. */
function recording(inner: RuleTimerStore, behave: (n: number) => { delayMs?: number; fail?: boolean }) {
  const log: string[] = [];
  let n = 0;
  const store: RuleTimerStore = {
    async saveTurn(upserts: readonly RuleTimer[], removals: readonly RuleTimerKey[]) {
      const i = ++n;
      const what = [...upserts.map((t) => `+${t.source}:${t.payload.state}`), ...removals.map((k) => `-${k.source}`)].join(',');
      log.push(`start ${i} ${what}`);
      const { delayMs = 0, fail = false } = behave(i);
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      if (fail) {
        log.push(`fail ${i}`);
        throw new Error('database went away');
      }
      await inner.saveTurn(upserts, removals);
      log.push(`end ${i}`);
    },
    loadAll: () => inner.loadAll(),
    load: (sites) => inner.load(sites),
  };
  return { store, log };
}

let rig: Rig | null = null;
let engine: RuleEngine | null = null;
afterEach(async () => {
  await engine?.stop();
  engine = null;
  await rig?.close();
  rig = null;
});

async function withStore(behave: (n: number) => { delayMs?: number; fail?: boolean }) {
  rig = await startRig({ rules: [openLong] });
  await rig.engine.stop(); // replaced by one on the recording store
  const inner = createRuleTimerStore({ kind: 'sqlite', db: rig.storage.db });
  const rec = recording(inner, behave);
  const { bus, clock, twin, arming, sites } = rig;
  engine = new RuleEngine({ bus, clock, twin, arming, sites, rules: staticRules([openLong]), timers: rec.store, logger });
  await engine.start();
  rig.engine = engine;
  await rig.register('door-2-20', 'door-2-21');
  return { ...rec, inner, rig };
}

describe('rule timer writes', () => {
  it('keeps the order of turns when a commit is slower than a turn', async () => {
    const { log, inner, rig } = await withStore((n) => (n === 1 ? { delayMs: 80 } : {}));
    rig.send('door-2-20', { type: 'door', state: 'open' });
    await turn(); // turn 1 (slow): 2-20 pending
    rig.send('door-2-20', { type: 'door', state: 'closed' });
    rig.send('door-2-21', { type: 'door', state: 'open' });
    await turn(); // turn 2: 2-20 removed, 2-21 pending
    expect(log).toEqual(['start 1 +demo-hotel/2-20:pending']);
    await engine!.flushed();
    expect(log).toEqual(['start 1 +demo-hotel/2-20:pending', 'end 1', 'start 2 +demo-hotel/2-21:pending,-demo-hotel/2-20', 'end 2']);
    expect((await inner.loadAll()).map((t) => t.source)).toEqual(['demo-hotel/2-21']);
  });

  it('logs a failed turn and goes on: the timers in memory still fire, the next turn is written', async () => {
    const { log, inner, rig } = await withStore((n) => (n === 1 ? { fail: true } : {}));
    rig.send('door-2-20', { type: 'door', state: 'open' });
    await engine!.flushed();
    expect(log).toEqual(['start 1 +demo-hotel/2-20:pending', 'fail 1']);
    expect(await inner.loadAll()).toEqual([]);
    rig.clock.advance(300_000);
    expect(rig.triggered.map((t) => t.source)).toEqual(['demo-hotel/2-20']);
    await engine!.flushed();
    expect((await inner.loadAll()).map((t) => [t.source, t.payload.state])).toEqual([['demo-hotel/2-20', 'fired']]);
  });

  it('stop() resolves after the last turn is committed', async () => {
    const { inner, rig } = await withStore(() => ({ delayMs: 30 }));
    rig.send('door-2-20', { type: 'door', state: 'open' });
    await engine!.stop();
    engine = null;
    expect((await inner.loadAll()).map((t) => t.source)).toEqual(['demo-hotel/2-20']);
  });
});
