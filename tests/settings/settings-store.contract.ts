/** The SettingsStore contract, on every implementation (SQLite, PostgreSQL). */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MakeRegistryStores, RegistryStores } from '../helpers/registry-stores.ts';

export function settingsStoreContract(name: string, make: MakeRegistryStores): void {
  describe(`SettingsStore contract: ${name}`, () => {
    let s: RegistryStores;
    let other: RegistryStores;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ stores: s, other, cleanup } = await make());
    });
    afterEach(async () => {
      await cleanup();
    });

    it('gets, sets, overwrites and deletes with null', async () => {
      expect(await s.settings.get('setup.tokenHash')).toBeNull();
      await s.settings.set('setup.tokenHash', 'abc');
      expect(await other.settings.get('setup.tokenHash')).toBe('abc');
      await s.settings.set('setup.tokenHash', '');
      expect(await s.settings.get('setup.tokenHash')).toBe('');
      await s.settings.set('setup.tokenHash', null);
      expect(await s.settings.get('setup.tokenHash')).toBeNull();
      await s.settings.set('missing', null);
      await s.settings.set('twin.zones', JSON.stringify([{ id: '门厅', occupancy: 3 }]));
      expect(JSON.parse((await s.settings.get('twin.zones'))!)).toEqual([{ id: '门厅', occupancy: 3 }]);
    });

    it('compares and sets: only from the expected value, absent as null', async () => {
      expect(await s.settings.compareAndSet('k', 'x', 'y')).toBe(false);
      expect(await s.settings.get('k')).toBeNull();
      expect(await s.settings.compareAndSet('k', null, 'a')).toBe(true);
      expect(await s.settings.compareAndSet('k', null, 'b')).toBe(false);
      expect(await s.settings.compareAndSet('k', 'a', 'b')).toBe(true);
      expect(await s.settings.get('k')).toBe('b');
      expect(await s.settings.compareAndSet('k', 'a', null)).toBe(false);
      expect(await s.settings.compareAndSet('k', 'b', null)).toBe(true);
      expect(await s.settings.get('k')).toBeNull();
      expect(await s.settings.compareAndSet('k', null, null)).toBe(true);
    });

    it('two workers consuming one value at once: exactly one succeeds', async () => {
      for (let i = 0; i < 5; i++) {
        await s.settings.set('setup_token_hash', `t${i}`);
        const won = await Promise.all([s.settings.compareAndSet('setup_token_hash', `t${i}`, null), other.settings.compareAndSet('setup_token_hash', `t${i}`, null)]);
        expect(won.filter(Boolean)).toHaveLength(1);
      }
    });
  });
}
