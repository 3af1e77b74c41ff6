import { openSqliteStorage, type SqliteStorage } from '../../server/sqlite-storage.ts';
import { createRuleDefinitionStore } from '../../server/stores.ts';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { registryServices } from '../helpers/registry.ts';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpApp } from '../../server/api/app.ts';
import { ruleRoutes } from '../../server/api/routes/rules.ts';
import type { ApiDeps } from '../../server/api/types.ts';
import { EventBus } from '../../server/events.ts';
import { createLogger } from '../../server/observability/logger.ts';
import { Metrics } from '../../server/observability/metrics.ts';

import { RuleStore } from '../../server/rules/store.ts';

import type { NewEvent } from '../../server/storage/types.ts';
import { demoSites, fixedState, PASSWORD } from './harness.ts';

let dir: string;
let storage: SqliteStorage;
let store: RuleStore;
let server: Server;
let base: string;
let admin: string;
let operator: string;
let hotelManager: string;

async function call(method: string, path: string, token: string, body?: unknown) {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

const apiRule = {
  id: 'shop-door-open',
  site: 'demo-shop',
  severity: 'warning',
  message: { en: 'Door {zone} opened', 'zh-CN': '{zone} 门打开' },
  when: { kind: 'event', event: 'door', where: [{ field: 'state', op: 'eq', value: 'open' }] },
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'storetwin-api-rules-'));
  await mkdir(join(dir, 'rules'));
  await writeFile(
    join(dir, 'rules', 'f.yaml'),
    "- {id: file-tamper, severity: critical, message: {en: t, zh-CN: t}, when: {kind: event, event: tamper, where: [{field: active, op: eq, value: true}]}}\n",
  );
  storage = openSqliteStorage(join(dir, 'storetwin.db'));
  const logger = createLogger({ level: 'silent' });
  store = new RuleStore({ definitions: createRuleDefinitionStore({ kind: 'sqlite', db: storage.db }), dirs: [join(dir, 'rules')], logger, watch: false });
  await store.start();
  const sites = await demoSites();
  const bus = new EventBus();
  const { directory, devices, users } = await registryServices(storage, { sites, bus });
  const deps: ApiDeps = {
    registry: directory,
    accounts: storage.accounts,
    settings: storage.settings,
    events: storage.events,
    sites,
    twin: { siteState: (s) => fixedState(s), deviceState: () => null },
    devices,
    users,
    metrics: new Metrics({ processMetrics: false }),
    logger,
    routes: [ruleRoutes({ rules: store })],
  };
  server = createHttpApp(deps).listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const token = async (username: string, role: 'admin' | 'operator' | 'manager', s: string[] = []) => {
    await users.createUser({ username, password: PASSWORD, role, sites: s });
    return (await users.login(username, PASSWORD)).token;
  };
  admin = await token('admin', 'admin');
  operator = await token('op', 'operator');
  hotelManager = await token('hotelonly', 'manager', ['demo-hotel']);

  const ts0 = Date.parse('2026-11-23T01:00:00Z');
  const events: NewEvent[] = [0, 1, 2].map((i) => {
    const ts = new Date(ts0 + i * 60_000).toISOString();
    return { site: 'demo-shop', device: 'shop-door-office', deviceType: 'door-sensor', zone: 'back-office', type: 'door', seq: i, ts, receivedAt: ts, data: { type: 'door', state: i === 1 ? 'closed' : 'open' } };
  });
  await storage.events.append(events);
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((done) => server.close(() => done()));
  storage.close();
  await rm(dir, { recursive: true, force: true });
});

describe('/api/rules', () => {
  it('creates, reads, lists, replaces and deletes API rules', async () => {
    const created = await call('POST', '/api/rules', admin, apiRule);
    expect(created.status).toBe(201);
    expect(created.body.rule).toMatchObject({ id: 'shop-door-open', origin: 'api', autoClear: true, enabled: true });
    expect((await call('POST', '/api/rules', admin, apiRule)).body.error.code).toBe('STW_ERR_RULE_EXISTS');
    expect((await call('GET', '/api/rules/shop-door-open', operator)).body.rule.severity).toBe('warning');
    const list = await call('GET', '/api/rules?site=demo-shop', operator);
    expect(list.body.items.map((r: { id: string }) => r.id)).toEqual(['file-tamper', 'shop-door-open']);
    const put = await call('PUT', '/api/rules/shop-door-open', admin, { ...apiRule, severity: 'major' });
    expect(put.status).toBe(200);
    expect(put.body.rule.severity).toBe('major');
    expect((await call('DELETE', '/api/rules/shop-door-open', admin)).status).toBe(204);
    expect((await call('GET', '/api/rules/shop-door-open', admin)).body.error.code).toBe('STW_ERR_RULE_NOT_FOUND');
  });

  it('refuses invalid rules with every problem, file edits, and writes by non-admins', async () => {
    const bad = await call('POST', '/api/rules', admin, { id: 'X', severity: 'loud', when: { kind: 'nope' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('STW_ERR_RULE_INVALID');
    expect(bad.body.error.detail.map((p: { path: string }) => p.path)).toEqual(expect.arrayContaining(['id', 'severity', 'message', 'when.kind']));
    const fileEdit = await call('DELETE', '/api/rules/file-tamper', admin);
    expect(fileEdit.status).toBe(409);
    expect(fileEdit.body.error.code).toBe('STW_ERR_RULE_FROM_FILE');
    expect((await call('POST', '/api/rules', operator, apiRule)).body.error.code).toBe('STW_ERR_FORBIDDEN');
  });

  it('hides rules of sites outside the caller scope', async () => {
    await call('POST', '/api/rules', admin, { ...apiRule, id: 'shop-only' });
    expect((await call('GET', '/api/rules/shop-only', hotelManager)).status).toBe(404);
    expect((await call('GET', '/api/rules', hotelManager)).body.items.map((r: { id: string }) => r.id)).toEqual(['file-tamper']);
    await call('DELETE', '/api/rules/shop-only', admin);
  });

  it('backtests a rule over stored events', async () => {
    await call('POST', '/api/rules', admin, { ...apiRule, id: 'bt' });
    const res = await call('POST', '/api/rules/bt/backtest?from=2026-11-23T00:00:00Z&to=2026-11-24T00:00:00Z', admin);
    expect(res.status).toBe(200);
    expect(res.body.eventsScanned).toBe(3);
    expect(res.body.firings.map((f: { at: string }) => f.at)).toEqual(['2026-11-23T01:00:00.000Z', '2026-11-23T01:02:00.000Z']);
    expect(res.body.firings[0].message.en).toBe('Door Back office opened');
    const bad = await call('POST', '/api/rules/bt/backtest?from=2026-11-24T00:00:00Z&to=2026-11-23T00:00:00Z', admin);
    expect(bad.body.error.code).toBe('STW_ERR_VALIDATION');
  });
});
