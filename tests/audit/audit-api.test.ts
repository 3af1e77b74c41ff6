/**
 * The audit log through the real product: a real server (broker, SQLite file, ports 0), people
 * acting over HTTP, a door over MQTT raising the alarm they acknowledge, and the admin commands
 * in child processes beside the server. Then `GET /api/audit` must show each action once, by
 * whom, from where, with before → after for edits, no secret anywhere, and only what the
 * reader may see.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alarm } from '../../server/alarms/types.ts';
import { AUDIT_ACTIONS, type AuditEntry } from '../../server/audit/types.ts';
import { REPO_ROOT } from '../../server/config.ts';
import { eventually, SHIPPED_SITES, startTestApp, type TestApp } from '../helpers/app.ts';
import { connectDevice } from '../helpers/mqtt.ts';

const SHOP = 'demo-shop';
const HOTEL = 'demo-hotel';
const DOOR = 'audit-door';
const BIN = path.join(REPO_ROOT, 'bin', 'storetwin.js');
const run = promisify(execFile);

/** Every password, token and device secret this file uses: none may appear in an entry. */
const secrets: string[] = [];
const pw = (name: string) => {
  const p = `${name}-Pa55word-${Math.random().toString(36).slice(2, 10)}`;
  secrets.push(p);
  return p;
};
const PASSWORDS = { root: pw('root'), olga: pw('olga'), mia: pw('mia'), hadmin: pw('hadmin'), hop: pw('hop'), tom: pw('tom'), temp: pw('temp'), tempReset: pw('temp-reset'), olgaNew: pw('olga-new'), cliUser: pw('cli-user'), cliReset: pw('cli-reset') };
const WRONG = pw('wrong');

let t: TestApp;
const tokens: Record<string, string> = {};
const ids: Record<string, number> = {};
let door: MqttClient | null = null;

type Json = Record<string, unknown>;
async function call(method: string, url: string, token: string | null, body?: unknown): Promise<{ status: number; body: Json }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${t.httpUrl}${url}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Json) : {} };
}

async function login(username: string, password: string): Promise<string> {
  const res = await call('POST', '/api/auth/login', null, { username, password });
  expect(res.status, `login ${username}`).toBe(200);
  const token = res.body.token as string;
  secrets.push(token);
  return token;
}

async function createUser(by: string, username: string, role: string, sites: string[], password: string): Promise<number> {
  const res = await call('POST', '/api/users', tokens[by]!, { username, password, role, sites });
  expect(res.status, `create ${username}`).toBe(201);
  return (res.body.user as { id: number }).id;
}

/** Every entry the reader may see, newest first, following the cursor. */
async function auditAll(token: string, query = '', limit = 1000): Promise<AuditEntry[]> {
  const items: AuditEntry[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < 1000; i++) {
    const res = await call('GET', `/api/audit?limit=${limit}${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, token);
    expect(res.status).toBe(200);
    items.push(...(res.body.items as AuditEntry[]));
    cursor = res.body.nextCursor as string | null;
    if (cursor === null) return items;
  }
  throw new Error('pagination does not end');
}

/** The newest entry of an action (as the unlimited admin sees it). */
async function latest(action: string): Promise<AuditEntry> {
  const res = await call('GET', `/api/audit?action=${action}&limit=1`, tokens.root!);
  expect(res.status).toBe(200);
  const [entry] = res.body.items as AuditEntry[];
  expect(entry, `an entry for ${action}`).toBeDefined();
  return entry!;
}

async function storetwin(...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [BIN, ...args, '--data-dir', t.dataDir, '--sites-dir', SHIPPED_SITES], { cwd: REPO_ROOT, env: { ...process.env, STORETWIN_DEMO: '0' } });
  return stdout;
}

beforeAll(async () => {
  t = await startTestApp();
  // The first admin comes from the CLI or setup in real life; here straight from the service.
  ids.root = (await t.app.users.createUser({ username: 'root', password: PASSWORDS.root, role: 'admin' })).id;
}, 60_000);

afterAll(async () => {
  await door?.endAsync();
  await t?.stop();
});

describe('GET /api/audit over a real server', { timeout: 60_000 }, () => {
  it('records logins, and failed ones with the name tried but never the password', async () => {
    tokens.root = await login('root', PASSWORDS.root);
    ids.olga = await createUser('root', 'olga', 'operator', [], PASSWORDS.olga);
    ids.mia = await createUser('root', 'mia', 'manager', [SHOP], PASSWORDS.mia);
    ids.hadmin = await createUser('root', 'hadmin', 'admin', [HOTEL], PASSWORDS.hadmin);
    ids.tom = await createUser('root', 'tom', 'technician', [], PASSWORDS.tom);
    for (const name of ['olga', 'mia', 'hadmin', 'tom'] as const) tokens[name] = await login(name, PASSWORDS[name]);

    expect((await call('POST', '/api/auth/login', null, { username: 'olga', password: WRONG })).status).toBe(401);
    expect((await call('POST', '/api/auth/login', null, { username: 'ghost', password: WRONG })).status).toBe(401);

    const login_ = (await auditAll(tokens.root!, '&action=auth.login')).find((e) => e.user === 'olga');
    expect(login_).toMatchObject({ user: 'olga', userId: ids.olga, role: 'operator', ip: '127.0.0.1', site: null });
    const [ghost, olgaFailed] = await auditAll(tokens.root!, '&action=auth.login_failed');
    expect(ghost).toMatchObject({ user: 'ghost', userId: null, role: null, ip: '127.0.0.1', target: null });
    // Nobody was authenticated; the account tried is the target.
    expect(olgaFailed).toMatchObject({ user: 'olga', userId: null, role: null, target: { kind: 'user', id: String(ids.olga), name: 'olga' } });
    const created = await latest('user.created');
    expect(created).toMatchObject({ user: 'root', userId: ids.root, role: 'admin', target: { kind: 'user', id: String(ids.tom), name: 'tom' }, after: { username: 'tom', role: 'technician', sites: [] } });
  });

  it('shows the acknowledgement by the user who made it (the issue\'s bar)', async () => {
    const armed = await call('POST', `/api/sites/${SHOP}/zones/cash-room/arm`, tokens.mia!, {});
    expect(armed.status).toBe(200);
    const registered = await call('POST', '/api/devices', tokens.root!, { id: DOOR, site: SHOP, type: 'door-sensor', zone: 'cash-room' });
    expect(registered.status).toBe(201);
    const secret = registered.body.secret as string;
    secrets.push(secret);
    door = await connectDevice(t.mqttUrl, DOOR, secret);
    await door.publishAsync(`storetwin/${SHOP}/${DOOR}/up`, JSON.stringify({ type: 'door', state: 'open', seq: 1 }), { qos: 1 });
    const alarm = await eventually(async () => {
      const res = await call('GET', `/api/alarms?site=${SHOP}&state=open`, tokens.root!);
      return (res.body.items as Alarm[]).find((a) => a.zone === 'cash-room' && a.rule === 'door-opened-armed');
    });

    const acked = await call('POST', `/api/alarms/${alarm.id}/ack`, tokens.olga!, { comment: 'checked the camera' });
    expect(acked.status).toBe(200);

    const res = await call('GET', '/api/audit?action=alarm.acknowledged', tokens.root!);
    expect(res.status).toBe(200);
    expect(res.body.items).toEqual([
      {
        id: expect.any(Number) as number,
        at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as string,
        user: 'olga',
        userId: ids.olga,
        role: 'operator',
        ip: '127.0.0.1',
        action: 'alarm.acknowledged',
        site: SHOP,
        target: { kind: 'alarm', id: alarm.id },
        before: { state: 'active' },
        after: { state: 'acknowledged' },
        detail: { comment: 'checked the camera' },
      },
    ]);

    expect((await call('POST', `/api/alarms/${alarm.id}/comment`, tokens.olga!, { text: '  guard on site  ' })).status).toBe(200);
    expect(await latest('alarm.commented')).toMatchObject({ user: 'olga', target: { kind: 'alarm', id: alarm.id }, detail: { comment: 'guard on site' } });
    expect((await call('POST', `/api/alarms/${alarm.id}/clear`, tokens.root!, {})).status).toBe(200);
    expect(await latest('alarm.cleared')).toMatchObject({ user: 'root', role: 'admin', site: SHOP, before: { state: 'acknowledged' }, after: { state: 'cleared' } });
    // The cash room's schedule arms it out of hours already: what changed is who decides.
    const armedEntry = await latest('zone.armed');
    expect(armedEntry).toMatchObject({ user: 'mia', role: 'manager', site: SHOP, target: { kind: 'zone', id: 'cash-room' }, after: { source: 'manual' } });
    expect(armedEntry.before).toMatchObject({ source: 'schedule' });
    expect((armed.body.arming as { armed: boolean }).armed).toBe(true);
    expect(await latest('device.registered')).toMatchObject({ user: 'root', site: SHOP, target: { kind: 'device', id: DOOR }, after: { type: 'door-sensor', zone: 'cash-room', enabled: true } });
  });

  it('records disarming, the schedule resumed, and maintenance opened and ended', async () => {
    expect((await call('POST', `/api/sites/${SHOP}/zones/cash-room/disarm`, tokens.mia!, {})).status).toBe(200);
    expect(await latest('zone.disarmed')).toMatchObject({ user: 'mia', before: { armed: true }, after: { armed: false } });
    expect((await call('DELETE', `/api/sites/${SHOP}/zones/cash-room/arming`, tokens.mia!)).status).toBe(200);
    expect(await latest('zone.schedule_resumed')).toMatchObject({ user: 'mia', site: SHOP, target: { kind: 'zone', id: 'cash-room' }, before: { source: 'manual' }, after: { source: 'schedule' } });

    const until = new Date(Date.now() + 3600_000).toISOString();
    const opened = await call('POST', '/api/maintenance', tokens.tom!, { site: SHOP, device: DOOR, until, reason: 'battery swap' });
    expect(opened.status).toBe(201);
    const window = opened.body.maintenance as { id: number };
    expect(await latest('maintenance.opened')).toMatchObject({ user: 'tom', role: 'technician', site: SHOP, target: { kind: 'maintenance', id: String(window.id) }, after: { device: DOOR, zone: null, reason: 'battery swap' } });
    expect((await call('DELETE', `/api/maintenance/${window.id}`, tokens.tom!)).status).toBe(200);
    const ended = await latest('maintenance.ended');
    expect(ended).toMatchObject({ user: 'tom', target: { kind: 'maintenance', id: String(window.id) }, before: { until: new Date(until).toISOString() } });
    expect(Date.parse(ended.after!.until as string)).toBeLessThan(Date.parse(until));
  });

  it('keeps a rule edit as before → after of the fields that changed', async () => {
    const rule = {
      id: 'audit-shop-door',
      site: SHOP,
      severity: 'warning',
      message: { en: 'Door {zone} opened', 'zh-CN': '{zone} 门打开' },
      when: { kind: 'event', event: 'door', where: [{ field: 'state', op: 'eq', value: 'open' }] },
    };
    expect((await call('POST', '/api/rules', tokens.root!, rule)).status).toBe(201);
    expect(await latest('rule.created')).toMatchObject({ user: 'root', site: SHOP, target: { kind: 'rule', id: rule.id }, after: { id: rule.id, severity: 'warning', when: rule.when } });
    const edited = { ...rule, severity: 'major', message: { en: 'Door {zone} opened after hours', 'zh-CN': '{zone} 门在非营业时间打开' } };
    expect((await call('PUT', `/api/rules/${rule.id}`, tokens.root!, edited)).status).toBe(200);
    const updated = await latest('rule.updated');
    expect(updated.before).toEqual({ severity: 'warning', message: rule.message });
    expect(updated.after).toEqual({ severity: 'major', message: edited.message });
    expect(updated).toMatchObject({ user: 'root', site: SHOP, target: { kind: 'rule', id: rule.id } });
    expect((await call('DELETE', `/api/rules/${rule.id}`, tokens.root!)).status).toBe(204);
    expect(await latest('rule.deleted')).toMatchObject({ target: { kind: 'rule', id: rule.id }, before: { severity: 'major' } });
  });

  it('records device edits (before → after), secret rotation without the secret, and removal', async () => {
    expect((await call('PATCH', `/api/devices/${DOOR}`, tokens.tom!, { label: 'Cash room door' })).status).toBe(200);
    const updated = await latest('device.updated');
    expect(updated).toMatchObject({ user: 'tom', site: SHOP, target: { kind: 'device', id: DOOR } });
    expect([updated.before, updated.after]).toEqual([{ label: null }, { label: 'Cash room door' }]);
    const rotated = await call('POST', `/api/devices/${DOOR}/secret`, tokens.tom!);
    expect(rotated.status).toBe(200);
    secrets.push(rotated.body.secret as string);
    const entry = await latest('device.secret_rotated');
    expect(entry).toMatchObject({ user: 'tom', site: SHOP, target: { kind: 'device', id: DOOR } });
    expect(entry.before ?? entry.after ?? entry.detail).toBeUndefined();
    await door?.endAsync();
    door = null;
    expect((await call('DELETE', `/api/devices/${DOOR}`, tokens.tom!)).status).toBe(204);
    expect(await latest('device.removed')).toMatchObject({ user: 'tom', before: { label: 'Cash room door', zone: 'cash-room' } });
  });

  it('records integrations created, changed, re-keyed and removed — never their token or secret settings', async () => {
    const created = await call('POST', '/api/integrations', tokens.root!, { adapter: 'onenet', site: SHOP, name: 'OneNET shop', settings: { token: 'onenet-push-secret' } });
    expect(created.status).toBe(201);
    secrets.push(created.body.token as string, 'onenet-push-secret');
    const id = created.body.id as string;
    expect(await latest('integration.created')).toMatchObject({ site: SHOP, target: { kind: 'integration', id, name: 'OneNET shop' }, after: { adapter: 'onenet', enabled: true } });
    expect((await call('PATCH', `/api/integrations/${id}`, tokens.root!, { enabled: false })).status).toBe(200);
    const updated = await latest('integration.updated');
    expect([updated.before, updated.after]).toEqual([{ enabled: true }, { enabled: false }]);
    const rotated = await call('POST', `/api/integrations/${id}/token`, tokens.root!);
    secrets.push(rotated.body.token as string);
    expect(await latest('integration.token_rotated')).toMatchObject({ target: { kind: 'integration', id } });
    expect((await call('DELETE', `/api/integrations/${id}`, tokens.root!)).status).toBe(204);
    expect(await latest('integration.removed')).toMatchObject({ site: SHOP, target: { kind: 'integration', id } });
  });

  it('keeps a user PATCH as before → after of role and sites, and of the password only that it was reset', async () => {
    ids.temp = await createUser('root', 'temp', 'operator', [SHOP], PASSWORDS.temp);
    tokens.temp = await login('temp', PASSWORDS.temp);
    const patched = await call('PATCH', `/api/users/${ids.temp}`, tokens.root!, { role: 'manager', sites: [SHOP, HOTEL], password: PASSWORDS.tempReset });
    expect(patched.status).toBe(200);
    const updated = await latest('user.updated');
    expect(updated).toMatchObject({ user: 'root', site: null, target: { kind: 'user', id: String(ids.temp), name: 'temp' }, detail: { passwordReset: true } });
    expect(updated.before).toEqual({ role: 'operator', sites: [SHOP] });
    expect(updated.after).toEqual({ role: 'manager', sites: [SHOP, HOTEL] });

    tokens.temp = await login('temp', PASSWORDS.tempReset);
    const listed = await call('GET', `/api/users/${ids.temp}/tokens`, tokens.root!);
    const tokenId = (listed.body.items as Array<{ id: string }>)[0]!.id;
    expect((await call('DELETE', `/api/users/${ids.temp}/tokens/${tokenId}`, tokens.root!)).status).toBe(204);
    expect(await latest('token.revoked')).toMatchObject({ user: 'root', target: { kind: 'token', id: tokenId }, detail: { owner: 'temp' } });
    expect((await call('DELETE', `/api/users/${ids.temp}`, tokens.root!)).status).toBe(204);
    expect(await latest('user.deleted')).toMatchObject({ user: 'root', target: { kind: 'user', id: String(ids.temp) }, before: { username: 'temp', role: 'manager' } });
  });

  it('records API tokens by their listed id, password changes and logouts', async () => {
    const created = await call('POST', '/api/auth/tokens', tokens.olga!, { name: 'stock-sync', ttlDays: 30 });
    expect(created.status).toBe(201);
    secrets.push(created.body.token as string);
    const id = created.body.id as string;
    expect(await latest('token.created')).toMatchObject({ user: 'olga', target: { kind: 'token', id, name: 'stock-sync' }, detail: { expiresAt: created.body.expiresAt } });
    expect((await call('DELETE', `/api/auth/tokens/${id}`, tokens.olga!)).status).toBe(204);
    expect(await latest('token.revoked')).toMatchObject({ user: 'olga', userId: ids.olga, target: { kind: 'token', id } });

    const changed = await call('POST', '/api/auth/password', tokens.olga!, { currentPassword: PASSWORDS.olga, newPassword: PASSWORDS.olgaNew });
    expect(changed.status).toBe(200);
    tokens.olga = changed.body.token as string;
    secrets.push(tokens.olga);
    const entry = await latest('auth.password_changed');
    expect(entry).toMatchObject({ user: 'olga', target: { kind: 'user', id: String(ids.olga) } });
    expect(entry.before ?? entry.after ?? entry.detail).toBeUndefined();
    const mine = (await call('GET', '/api/auth/tokens', tokens.olga!)).body.items as Array<{ id: string; current: boolean }>;
    expect((await call('POST', '/api/auth/logout', tokens.olga!)).status).toBe(204);
    expect(await latest('auth.logout')).toMatchObject({ user: 'olga', target: { kind: 'token', id: mine.find((m) => m.current)!.id } });
    tokens.olga = await login('olga', PASSWORDS.olgaNew);
  });

  it('records the admin commands as `cli`, without an address', async () => {
    await storetwin('user', 'add', 'clara', '--role', 'operator', '--sites', HOTEL, '--password', PASSWORDS.cliUser);
    const clara = (await t.app.users.listUsers()).find((u) => u.username === 'clara')!;
    await storetwin('user', 'passwd', 'clara', '--password', PASSWORDS.cliReset);
    await login('clara', PASSWORDS.cliReset);
    const [session] = await t.app.users.listTokens(clara.id);
    await storetwin('user', 'revoke', 'clara', session!.id);
    await storetwin('user', 'remove', 'clara');
    const added = JSON.parse(await storetwin('device', 'add', '--site', HOTEL, '--type', 'door-sensor', '--zone', '2-14', '--id', 'cli-door', '--json')) as { secret: string };
    secrets.push(added.secret);
    secrets.push((/: (\S+)$/m.exec(await storetwin('device', 'rotate-secret', 'cli-door')) ?? [])[1] ?? 'no secret printed');
    await storetwin('device', 'remove', 'cli-door');

    const cli = await auditAll(tokens.root!, '&user=cli');
    expect(cli.map((e) => e.action).reverse()).toEqual(['user.created', 'user.updated', 'token.revoked', 'user.deleted', 'device.registered', 'device.secret_rotated', 'device.removed']);
    for (const e of cli) expect(e).toMatchObject({ user: 'cli', userId: null, role: null, ip: null });
    expect(cli.find((e) => e.action === 'user.updated')).toMatchObject({ target: { kind: 'user', id: String(clara.id), name: 'clara' }, detail: { passwordReset: true } });
    expect(cli.find((e) => e.action === 'token.revoked')).toMatchObject({ target: { kind: 'token', id: session!.id }, detail: { owner: 'clara' } });
    expect(cli.find((e) => e.action === 'device.registered')).toMatchObject({ site: HOTEL, target: { kind: 'device', id: 'cli-door' }, after: { zone: '2-14' } });
  }, 90_000);

  it('has recorded every kind of action, each once per act', async () => {
    const all = await auditAll(tokens.root!);
    const kinds = new Set(all.map((e) => e.action));
    expect(AUDIT_ACTIONS.filter((a) => !kinds.has(a))).toEqual([]);
    // One act, one entry: a single acknowledgement was made in this file.
    expect(all.filter((e) => e.action === 'alarm.acknowledged')).toHaveLength(1);
    expect(all.filter((e) => e.action === 'rule.updated')).toHaveLength(1);
  });

  it('holds no password, token or device secret in any entry', async () => {
    const text = JSON.stringify(await auditAll(tokens.root!));
    expect(secrets.length).toBeGreaterThan(20);
    for (const secret of secrets) expect(text.includes(secret), `a secret of ${secret.length} chars is in the log`).toBe(false);
    expect(text).not.toMatch(/password(Hash)?"\s*:|secret(Hash)?"\s*:|"token"\s*:/i);
  });

  it('shows a hotel-limited admin its hotel, itself and the accounts it manages, never the shop nor unlimited accounts', async () => {
    expect((await call('POST', `/api/sites/${HOTEL}/zones/3-05/arm`, tokens.hadmin!, {})).status).toBe(200);
    expect((await call('POST', `/api/sites/${HOTEL}/zones/3-06/arm`, tokens.root!, {})).status).toBe(200);
    ids.hop = await createUser('hadmin', 'hop', 'operator', [HOTEL], PASSWORDS.hop);
    tokens.hop = await login('hop', PASSWORDS.hop);

    const seen = await auditAll(tokens.hadmin!);
    // Site-less entries: only about hotel-only accounts (hadmin, hop, clara), never by an account for every site.
    const managed = ['hadmin', 'hop', 'clara'];
    for (const e of seen) {
      expect(e.site === HOTEL || e.site === null, `${e.action} of ${e.site}`).toBe(true);
      if (e.site === null) expect([e.user, e.target?.name, e.detail?.owner].some((n) => managed.includes(n as string)), `${e.user} ${e.action}`).toBe(true);
    }
    const summary = seen.map((e) => `${e.user} ${e.action} ${e.site ?? '-'}`);
    expect(summary).toEqual(
      expect.arrayContaining([`hadmin auth.login -`, `hadmin zone.armed ${HOTEL}`, `root zone.armed ${HOTEL}`, `hadmin user.created -`, `hop auth.login -`, `cli device.registered ${HOTEL}`, `cli user.created -`]),
    );
    expect(seen.some((e) => e.site === SHOP || e.user === 'olga' || e.user === 'ghost' || e.action === 'rule.created')).toBe(false);
    // Root (an account for every site) created hadmin and hop's peers: site-less, so root's business only.
    expect(seen.some((e) => e.user === 'root' && e.site === null)).toBe(false);
    expect(seen.filter((e) => e.user === 'hadmin' && e.action === 'user.created').map((e) => e.target?.name)).toEqual(['hop']);

    const shop = await call('GET', `/api/audit?site=${SHOP}`, tokens.hadmin!);
    expect(shop.status).toBe(404);
    expect((shop.body.error as { code: string }).code).toBe('STW_ERR_SITE_NOT_FOUND');
    expect((await auditAll(tokens.hadmin!, `&site=${HOTEL}`)).every((e) => e.site === HOTEL)).toBe(true);
  });

  it('answers 403 to every role but admin, and 401 without a session', async () => {
    for (const who of ['olga', 'mia', 'tom', 'hop']) {
      const res = await call('GET', '/api/audit', tokens[who]!);
      expect(res.status, who).toBe(403);
      expect((res.body.error as { code: string }).code).toBe('STW_ERR_FORBIDDEN');
    }
    expect((await call('GET', '/api/audit', null)).status).toBe(401);
  });

  it('pages newest first with a cursor, and filters by user, action group and time', async () => {
    const all = await auditAll(tokens.root!);
    expect(all.length).toBeGreaterThan(40);
    const paged = await auditAll(tokens.root!, '', 7);
    expect(paged.map((e) => e.id)).toEqual(all.map((e) => e.id));
    for (let i = 1; i < all.length; i++) expect(Date.parse(all[i - 1]!.at)).toBeGreaterThanOrEqual(Date.parse(all[i]!.at));

    expect((await auditAll(tokens.root!, '&user=OLGA')).every((e) => e.user === 'olga')).toBe(true);
    const alarms = await auditAll(tokens.root!, '&action=alarm');
    expect(alarms.map((e) => e.action).sort()).toEqual(['alarm.acknowledged', 'alarm.cleared', 'alarm.commented']);
    const middle = all[Math.floor(all.length / 2)]!;
    const from = await auditAll(tokens.root!, `&from=${encodeURIComponent(middle.at)}`);
    expect(from.every((e) => e.at >= middle.at)).toBe(true);
    expect(from.map((e) => e.id)).toContain(middle.id);
    expect((await auditAll(tokens.root!, `&to=${encodeURIComponent(middle.at)}`)).every((e) => e.at < middle.at)).toBe(true);

    for (const bad of ['action=alarms', 'action=alarm.deleted', 'cursor=xyz', 'from=yesterday', 'limit=0', 'sort=asc']) {
      const res = await call('GET', `/api/audit?${bad}`, tokens.root!);
      expect(res.status, bad).toBe(400);
      expect((res.body.error as { code: string }).code).toBe('STW_ERR_VALIDATION');
    }
  });
});

describe('first start', () => {
  it('records the first admin created with the setup token as `setup`, without the token or the password', async () => {
    const fresh = await startTestApp();
    try {
      const password = pw('first-admin');
      const res = await fetch(`${fresh.httpUrl}/api/auth/setup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ setupToken: fresh.app.setupToken, username: 'boss', password }) });
      expect(res.status).toBe(201);
      const [entry, ...rest] = (await fresh.app.audit.query({ limit: 10 })).items;
      expect(rest).toEqual([]);
      expect(entry).toMatchObject({ user: 'setup', userId: null, action: 'user.created', ip: '127.0.0.1', after: { username: 'boss', role: 'admin', sites: [] } });
      const text = JSON.stringify(entry);
      expect(text).not.toContain(password);
      expect(text).not.toContain(fresh.app.setupToken!);
    } finally {
      await fresh.stop();
    }
  }, 30_000);
});
