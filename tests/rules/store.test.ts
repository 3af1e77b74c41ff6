import { openSqliteStorage, type SqliteStorage } from '../../server/sqlite-storage.ts';
import { createRuleDefinitionStore } from '../../server/stores.ts';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StoreTwinError } from '../../server/errors.ts';

import { loadRuleFiles, RuleStore } from '../../server/rules/store.ts';

import { logger, RULES_DIR, startRig, type Rig } from './setup.ts';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function tempStore(opts: { watch?: boolean } = {}): Promise<{ dir: string; storage: SqliteStorage; store: RuleStore }> {
  const dir = await mkdtemp(join(tmpdir(), 'storetwin-rulefiles-'));
  const storage = openSqliteStorage(join(dir, 'db', 'storetwin.db'));
  const store = new RuleStore({ definitions: createRuleDefinitionStore({ kind: 'sqlite', db: storage.db }), dirs: [join(dir, 'rules')], logger, watch: opts.watch ?? false, debounceMs: 30 });
  cleanup.push(async () => {
    store.stop();
    storage.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { dir, storage, store };
}

const doorRule = (id: string, severity = 'critical') => `
- id: ${id}
  severity: ${severity}
  message: {en: 'Door {zone}', zh-CN: '门 {zone}'}
  when: {kind: event, event: door, where: [{field: state, op: eq, value: open}]}
`;

describe('rule files', () => {
  it('the shipped rules/default.yaml is valid and holds the built-in rules', async () => {
    const { rules, problems } = await loadRuleFiles([RULES_DIR]);
    expect(problems).toEqual([]);
    const ids = rules.map((r) => r.rule.id);
    expect(ids).toEqual(expect.arrayContaining(['door-opened-armed', 'tamper', 'device-silent', 'low-battery', 'shop-intrusion-confirmed', 'shop-footfall-absent']));
    expect(rules.find((r) => r.rule.id === 'device-silent')?.rule).toMatchObject({ site: '*', severity: 'major', autoClear: true, enabled: true });
  });

  it('reports every problem of every file at once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'storetwin-badrules-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    await writeFile(
      join(dir, 'a.yaml'),
      `${doorRule('ok-rule')}
- id: Bad_Id
  severity: fatal
  message: {en: x}
  when: {kind: duration, where: [], seconds: -1}
- id: ok-rule
  severity: info
  message: {en: a, zh-CN: b}
  when: {kind: silence, facter: 2}
`,
    );
    await writeFile(join(dir, 'b.yaml'), 'id: [unclosed');
    await writeFile(join(dir, 'c.yaml'), 'just: a map');
    const { problems } = await loadRuleFiles([dir]);
    const text = problems.map((p) => `${p.source.slice(dir.length + 1)}: ${p.path}: ${p.message}`);
    expect(text).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^a\.yaml: \[1\]\.id: must be lowercase/),
        expect.stringMatching(/^a\.yaml: \[1\]\.severity: /),
        expect.stringMatching(/^a\.yaml: \[1\]\.message\.zh-CN: /),
        expect.stringMatching(/^a\.yaml: \[1\]\.when\.where: /),
        expect.stringMatching(/^a\.yaml: \[1\]\.when\.seconds: /),
        expect.stringMatching(/^a\.yaml: \[2\]\.when: .*facter/),
        expect.stringMatching(/^b\.yaml: : cannot be parsed at line 1/),
        expect.stringMatching(/^c\.yaml: : must be a list of rules/),
      ]),
    );
    expect(problems.length).toBeGreaterThanOrEqual(8);

    const storage = openSqliteStorage(join(dir, 'x.db'));
    cleanup.push(() => storage.close());
    const store = new RuleStore({ definitions: createRuleDefinitionStore({ kind: 'sqlite', db: storage.db }), dirs: [dir], logger, watch: false });
    const err = await store.start().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StoreTwinError);
    expect((err as StoreTwinError).code).toBe('STW_ERR_RULE_INVALID');
    expect((err as StoreTwinError).message).toMatch(/problem\(s\) in 3 rule source\(s\)/);
  });

  it('syncs files into the rules table beside API rules; file rules are read-only over the API', async () => {
    const { dir, storage, store } = await tempStore();
    await rm(join(dir, 'rules'), { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(join(dir, 'rules')));
    await writeFile(join(dir, 'rules', 'one.yaml'), doorRule('from-file'));
    await store.start();
    await store.create({ id: 'from-api', site: 'demo-shop', severity: 'info', message: { en: 'a', 'zh-CN': 'b' }, when: { kind: 'silence' } });
    expect(store.list().map((r) => [r.rule.id, r.origin])).toEqual([
      ['from-file', 'file'],
      ['from-api', 'api'],
    ]);
    expect(store.list('demo-hotel').map((r) => r.rule.id)).toEqual(['from-file']);
    await expect(store.update('from-file', {})).rejects.toMatchObject({ code: 'STW_ERR_RULE_FROM_FILE' });
    await expect(store.remove('nope')).rejects.toMatchObject({ code: 'STW_ERR_RULE_NOT_FOUND' });
    await expect(store.create({ id: 'from-api' })).rejects.toMatchObject({ code: 'STW_ERR_RULE_INVALID' });
    const rows = storage.db.prepare('SELECT id, origin, enabled FROM rules ORDER BY id').all();
    expect(rows).toEqual([
      { id: 'from-api', origin: 'api', enabled: 1 },
      { id: 'from-file', origin: 'file', enabled: 1 },
    ]);
  });

  it('the table decides: an id another worker took is refused here, and this view learns of the rule', async () => {
    const { dir, storage, store } = await tempStore();
    await store.start();
    const other = new RuleStore({ definitions: createRuleDefinitionStore({ kind: 'sqlite', db: storage.db }), dirs: [join(dir, 'rules')], logger, watch: false });
    await other.start();
    const body = { id: 'taken', site: 'demo-shop', severity: 'info', message: { en: 'a', 'zh-CN': 'b' }, when: { kind: 'silence' } };
    await other.create(body);
    expect(store.get('taken')).toBeNull(); // this worker's view is behind the table
    await expect(store.create({ ...body, severity: 'critical' })).rejects.toMatchObject({ code: 'STW_ERR_RULE_EXISTS' });
    expect(store.get('taken')).toMatchObject({ origin: 'api', rule: { severity: 'info' } });
    await other.remove('taken');
    // Removed elsewhere: an update here says so, and forgets the rule.
    await expect(store.update('taken', body)).rejects.toMatchObject({ code: 'STW_ERR_RULE_NOT_FOUND' });
    expect(store.get('taken')).toBeNull();
  });

  it('hot reload: editing a rule file changes what the engine does, a broken edit keeps the old rules', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'storetwin-hot-'));
    await import('node:fs/promises').then((fs) => fs.mkdir(join(dir, 'rules')));
    await writeFile(join(dir, 'rules', 'r.yaml'), doorRule('door-any', 'minor'));
    let rig: Rig | null = null;
    const storage = openSqliteStorage(join(dir, 'rules.db'));
    const store = new RuleStore({ definitions: createRuleDefinitionStore({ kind: 'sqlite', db: storage.db }), dirs: [join(dir, 'rules')], logger, debounceMs: 30 });
    await store.start();
    cleanup.push(async () => {
      store.stop();
      await rig?.engine.stop();
      await rig?.close();
      storage.close();
      await rm(dir, { recursive: true, force: true });
    });
    rig = await startRig({ rules: store });
    await rig.register('door-2-01');
    rig.send('door-2-01', { type: 'door', state: 'open' });
    expect(rig.triggered.map((t) => t.severity)).toEqual(['minor']);

    const changed = new Promise<void>((done) => {
      const off = store.onChange(() => {
        off();
        done();
      });
    });
    await writeFile(join(dir, 'rules', 'r.yaml'), doorRule('door-any', 'critical'));
    await changed;
    rig.send('door-2-01', { type: 'door', state: 'open' });
    expect(rig.triggered.map((t) => t.severity)).toEqual(['minor', 'critical']);

    await writeFile(join(dir, 'rules', 'r.yaml'), '- id: door-any\n  severity: nope\n');
    await new Promise((r) => setTimeout(r, 300));
    expect(store.get('door-any')?.rule.severity).toBe('critical');
  });
});

describe('reserved rule ids', () => {
  it('refuses a rule named like the record of suppressed alarms (it would fold into those records)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'storetwin-rules-reserved-'));
    try {
      await writeFile(
        join(dir, 'mine.yaml'),
        "- {id: maintenance-suppressed, severity: info, message: {en: t, zh-CN: t}, when: {kind: event, event: tamper, where: [{field: active, op: eq, value: true}]}}\n",
      );
      const { rules, problems } = await loadRuleFiles([dir]);
      expect(rules).toEqual([]);
      expect(JSON.stringify(problems)).toContain('reserved');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
