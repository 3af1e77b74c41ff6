/**
 * The RuleDefinitionStore contract: what the SQLite and the PostgreSQL rules table must both
 * do. `another()` is a second store on the same database, as a second worker has it: file syncs
 * and API writes racing between workers must leave either one outcome or the other, never a mix.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RuleDefinitionStore, StoredRule } from '../../server/rules/definition-store.ts';
import { ruleSchema, type Rule } from '../../server/rules/schema.ts';

export type MakeRuleDefinitionStore = () => Promise<{ store: RuleDefinitionStore; another(): Promise<RuleDefinitionStore>; cleanup(): Promise<void> }>;

const T0 = Date.parse('2026-11-23T02:14:07.123Z');

function rule(id: string, extra: Record<string, unknown> = {}): Rule {
  return ruleSchema.parse({
    id,
    severity: 'major',
    message: { en: 'Door {zone} open', 'zh-CN': '{zone} 门开着' },
    when: { kind: 'duration', where: [{ field: 'door', op: 'eq', value: 'open' }], seconds: 300 },
    ...extra,
  });
}

const ids = (rs: StoredRule[]) => rs.map((r) => `${r.origin}:${r.rule.id}`);

export function ruleDefinitionStoreContract(name: string, make: MakeRuleDefinitionStore): void {
  describe(`RuleDefinitionStore contract: ${name}`, () => {
    let store: RuleDefinitionStore;
    let another: () => Promise<RuleDefinitionStore>;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, another, cleanup } = await make());
    });
    afterEach(async () => {
      await cleanup();
    });

    it('lists file rules first, then API rules, each by id in byte order, exactly as written', async () => {
      expect(await store.list()).toEqual([]);
      const zoned = rule('b-zoned', { site: 'demo-shop', enabled: false, zones: ['cash-room'], message: { en: 'é {zone}', 'zh-CN': '收银室 {zone}' } });
      expect(await store.replaceFileRules([rule('z-file'), zoned, rule('a-file')], T0)).toEqual({ conflicts: [] });
      expect(await store.insertApiRule(rule('m-api'), T0 + 5)).toBe(true);
      expect(await store.insertApiRule(rule('0-api', { site: 'demo-hotel' }), T0 + 6)).toBe(true);
      const all = await store.list();
      expect(ids(all)).toEqual(['file:a-file', 'file:b-zoned', 'file:z-file', 'api:0-api', 'api:m-api']);
      expect(all[1]).toEqual({ rule: zoned, origin: 'file', updatedAt: T0 });
      expect(all[3]).toEqual({ rule: rule('0-api', { site: 'demo-hotel' }), origin: 'api', updatedAt: T0 + 6 });
    });

    it('a file sync replaces every file rule and keeps the API rules; an API id among the files writes nothing', async () => {
      await store.replaceFileRules([rule('f-1'), rule('f-2')], T0);
      await store.insertApiRule(rule('api-1'), T0);
      await store.insertApiRule(rule('api-2'), T0);
      expect(await store.replaceFileRules([rule('f-2', { severity: 'critical' }), rule('f-3')], T0 + 1000)).toEqual({ conflicts: [] });
      let all = await store.list();
      expect(ids(all)).toEqual(['file:f-2', 'file:f-3', 'api:api-1', 'api:api-2']);
      expect(all[0]).toMatchObject({ rule: { severity: 'critical' }, updatedAt: T0 + 1000 });
      // Two ids taken by API rules: both named, sorted, and nothing changed.
      expect(await store.replaceFileRules([rule('f-4'), rule('api-2'), rule('api-1')], T0 + 2000)).toEqual({ conflicts: ['api-1', 'api-2'] });
      all = await store.list();
      expect(ids(all)).toEqual(['file:f-2', 'file:f-3', 'api:api-1', 'api:api-2']);
      expect(await store.replaceFileRules([], T0 + 3000)).toEqual({ conflicts: [] });
      expect(ids(await store.list())).toEqual(['api:api-1', 'api:api-2']);
    });

    it('API writes touch API rules only', async () => {
      await store.replaceFileRules([rule('from-file')], T0);
      expect(await store.insertApiRule(rule('from-file'), T0)).toBe(false);
      expect(await store.insertApiRule(rule('mine'), T0)).toBe(true);
      expect(await store.insertApiRule(rule('mine', { severity: 'info' }), T0)).toBe(false);
      expect(await store.updateApiRule(rule('from-file', { severity: 'info' }), T0 + 1)).toBe(false);
      expect(await store.updateApiRule(rule('nobody'), T0 + 1)).toBe(false);
      expect(await store.updateApiRule(rule('mine', { site: 'demo-shop', severity: 'info', enabled: false }), T0 + 2)).toBe(true);
      expect(await store.removeApiRule('from-file')).toBe(false);
      expect(await store.removeApiRule('nobody')).toBe(false);
      const all = await store.list();
      expect(all).toEqual([
        { rule: rule('from-file'), origin: 'file', updatedAt: T0 },
        { rule: rule('mine', { site: 'demo-shop', severity: 'info', enabled: false }), origin: 'api', updatedAt: T0 + 2 },
      ]);
      expect(await store.removeApiRule('mine')).toBe(true);
      expect(await store.removeApiRule('mine')).toBe(false);
      expect(ids(await store.list())).toEqual(['file:from-file']);
    });

    it('two workers creating the same rule at once: exactly one gets it', async () => {
      const other = await another();
      for (let round = 0; round < 10; round++) {
        const id = `race-${round}`;
        const results = await Promise.all([store.insertApiRule(rule(id, { severity: 'info' }), T0), other.insertApiRule(rule(id, { severity: 'critical' }), T0)]);
        expect(results.filter(Boolean)).toHaveLength(1);
      }
      expect(await store.list()).toHaveLength(10);
    });

    it('two workers syncing different files at once: one sync wins whole, never a mix', async () => {
      const other = await another();
      const a = Array.from({ length: 30 }, (_, i) => rule(`a-${i}`));
      const b = Array.from({ length: 30 }, (_, i) => rule(`b-${i}`));
      for (let round = 0; round < 5; round++) {
        await Promise.all([store.replaceFileRules(a, T0), other.replaceFileRules(b, T0)]);
        const got = ids(await store.list());
        expect([a.map((r) => `file:${r.id}`), b.map((r) => `file:${r.id}`)].map((x) => x.sort())).toContainEqual([...got].sort());
      }
    });

    it('a file sync racing an API create of one of its ids: exactly one of them has it', async () => {
      const other = await another();
      for (let round = 0; round < 10; round++) {
        const id = `contested-${round}`;
        const files = [rule('steady'), rule(id)];
        const [sync, created] = await Promise.all([store.replaceFileRules(files, T0), other.insertApiRule(rule(id), T0)]);
        const held = (await store.list()).filter((r) => r.rule.id === id);
        expect(held).toHaveLength(1);
        if (created) {
          expect(sync.conflicts).toEqual([id]);
          expect(held[0]?.origin).toBe('api');
        } else {
          expect(sync.conflicts).toEqual([]);
          expect(held[0]?.origin).toBe('file');
        }
        // Clean up for the next round: the API rule goes, the file rules go.
        await store.removeApiRule(id);
        await store.replaceFileRules([], T0);
      }
    });
  });
}
