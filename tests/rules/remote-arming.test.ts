/**
 * The engine looks again at a zone armed through another worker (issue 12): that worker
 * announced `zone.arming` on its own bus only; here ArmingService.onRemoteChange tells the
 * engine once its view holds the change, as a `zone.arming` would.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { staticRules } from '../../server/rules/store.ts';
import type { RuleEngine } from '../../server/rules/engine.ts';
import { rule, startRig, type Rig } from './setup.ts';

let rig: Rig | null = null;
let engine: RuleEngine | null = null;
afterEach(async () => {
  await engine?.stop();
  await rig?.engine.stop();
  await rig?.close();
  rig = engine = null;
});

describe('arming changed on another worker', () => {
  it('starts a zone rule that asks whether the zone is armed', async () => {
    rig = await startRig({ rules: [] });
    await rig.register('shop-door-cash');
    let remote: ((zones: Array<{ site: string; zone: string }>) => void) | null = null;
    Object.assign(rig.arming, {
      onRemoteChange(listener: (zones: Array<{ site: string; zone: string }>) => void) {
        remote = listener;
        return () => (remote = null);
      },
    });
    engine = rig.newEngine(
      staticRules([
        rule({
          id: 'cash-door-open-armed',
          site: 'demo-shop',
          severity: 'critical',
          message: { en: 'Door open in {zone}', 'zh-CN': '{zone}' },
          when: { kind: 'duration', subject: 'zone', where: [{ field: 'door', op: 'eq', value: 'open' }], zoneArmed: true, seconds: 1 },
        }),
      ]),
    );
    await engine.start();
    rig.send('shop-door-cash', { type: 'door', state: 'open' });
    rig.clock.advance(5_000);
    expect(rig.triggered).toEqual([]); // disarmed: nothing pending
    rig.arming.armed.add('demo-shop/cash-room');
    expect(remote).not.toBeNull();
    remote!([{ site: 'demo-shop', zone: 'cash-room' }]);
    rig.clock.advance(2_000);
    expect(rig.triggered).toHaveLength(1);
    expect(rig.triggered[0]).toMatchObject({ rule: 'cash-door-open-armed', source: 'demo-shop/cash-room' });
    await engine.stop();
    expect(remote).toBeNull(); // stop unsubscribes
  });
});
