import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureSetupToken } from '../../server/auth/setup.ts';
import { HOTEL, PASSWORD, SHOP, startApi, type Harness } from './harness.ts';

/** Every route that needs a caller; each must refuse an anonymous request with 401. */
const PROTECTED: Array<[method: string, path: string]> = [
  ['POST', '/api/auth/logout'],
  ['GET', '/api/me'],
  ['POST', '/api/auth/tokens'],
  ['GET', '/api/sites'],
  ['GET', `/api/sites/${SHOP}`],
  ['GET', `/api/sites/${SHOP}/state`],
  ['GET', '/api/devices'],
  ['POST', '/api/devices'],
  ['GET', '/api/devices/shop-door-cash'],
  ['PATCH', '/api/devices/shop-door-cash'],
  ['DELETE', '/api/devices/shop-door-cash'],
  ['POST', '/api/devices/shop-door-cash/secret'],
  ['GET', '/api/events'],
  ['GET', '/api/users'],
  ['POST', '/api/users'],
  ['DELETE', '/api/users/1'],
  ['GET', '/api/no-such-route'],
];

describe('authentication', () => {
  let api: Harness;
  let admin: string;

  beforeAll(async () => {
    api = await startApi({ options: { loginRateLimit: { limit: 3, windowMs: 60_000 } } });
    admin = await api.userToken('root', 'admin');
  });
  afterAll(() => api.close());

  it.each(PROTECTED)('%s %s needs a token', async (method, path) => {
    const anonymous = await api.request(method, path, { body: {} });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.error.code).toBe('STW_ERR_AUTH_REQUIRED');
    expect(anonymous.headers.get('www-authenticate')).toContain('Bearer');

    const forged = await api.request(method, path, { token: 'not-a-real-token', body: {} });
    expect(forged.status).toBe(401);
    expect(forged.body.error.code).toBe('STW_ERR_TOKEN_INVALID');
  });

  it('refuses a non-Bearer Authorization header', async () => {
    const res = await api.request('GET', '/api/me', { headers: { authorization: 'Basic cm9vdDpwdw==' } });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('STW_ERR_TOKEN_INVALID');
  });

  it('logs in with a token and an HttpOnly SameSite=Strict cookie', async () => {
    await api.users.createUser({ username: 'maria', password: PASSWORD, role: 'manager' });
    const res = await api.request('POST', '/api/auth/login', { body: { username: 'maria', password: PASSWORD } });
    expect(res.status).toBe(200);
    expect(res.body.user).toMatchObject({ username: 'maria', role: 'manager', sites: [] });
    expect(res.body.user).not.toHaveProperty('passwordHash');
    expect(typeof res.body.token).toBe('string');
    const cookie = res.headers.get('set-cookie') ?? '';
    expect(cookie).toContain(`storetwin_session=${res.body.token}`);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    expect(cookie).toMatch(/Path=\//);

    const viaCookie = await api.request('GET', '/api/me', { headers: { cookie: `theme=dark; storetwin_session=${res.body.token}` } });
    expect(viaCookie.status).toBe(200);
    expect(viaCookie.body.user.username).toBe('maria');
    expect(viaCookie.body.permissions).toContain('zones:arm');
    expect(viaCookie.body.permissions).not.toContain('users:manage');

    const viaBearer = await api.request('GET', '/api/me', { token: res.body.token });
    expect(viaBearer.body.user.username).toBe('maria');
  });

  it('answers a wrong password with 401 STW_ERR_AUTH_INVALID, and unknown users alike', async () => {
    await api.users.createUser({ username: 'wrongpw', password: PASSWORD, role: 'operator' });
    const wrong = await api.request('POST', '/api/auth/login', { body: { username: 'wrongpw', password: 'not the password' } });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('STW_ERR_AUTH_INVALID');
    expect(wrong.headers.get('set-cookie')).toBeNull();
    const unknown = await api.request('POST', '/api/auth/login', { body: { username: 'ghost', password: 'not the password' } });
    expect(unknown.status).toBe(401);
    expect(unknown.body).toEqual(wrong.body);
  });

  it('validates the login body', async () => {
    const res = await api.request('POST', '/api/auth/login', { body: { username: 'root' } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('STW_ERR_VALIDATION');
    expect(res.body.error.detail).toEqual(expect.arrayContaining([expect.objectContaining({ path: ['password'] })]));
    const notJson = await api.request('POST', '/api/auth/login', { rawBody: '{"username":' });
    expect(notJson.status).toBe(400);
    expect(notJson.body.error.code).toBe('STW_ERR_VALIDATION');
  });

  it('rate-limits failed logins per client and username', async () => {
    await api.users.createUser({ username: 'target', password: PASSWORD, role: 'operator' });
    for (let i = 0; i < 3; i++) {
      const res = await api.request('POST', '/api/auth/login', { body: { username: 'target', password: `guess number ${i}` } });
      expect(res.status).toBe(401);
    }
    const limited = await api.request('POST', '/api/auth/login', { body: { username: 'target', password: PASSWORD } });
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('STW_ERR_RATE_LIMITED');
    // Another account from the same client is not locked out.
    const other = await api.request('POST', '/api/auth/login', { body: { username: 'root', password: PASSWORD } });
    expect(other.status).toBe(200);
  });

  it('logout invalidates the token and clears the cookie', async () => {
    const token = (await api.users.login('root', PASSWORD)).token;
    expect((await api.request('GET', '/api/me', { token })).status).toBe(200);
    const out = await api.request('POST', '/api/auth/logout', { token });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/storetwin_session=;/);
    const after = await api.request('GET', '/api/me', { token });
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe('STW_ERR_TOKEN_INVALID');
  });

  it('issues API tokens that work as bearer tokens', async () => {
    const res = await api.request('POST', '/api/auth/tokens', { token: admin, body: { name: 'grafana', ttlDays: 30 } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name: 'grafana' });
    expect(Date.parse(res.body.expiresAt)).toBeGreaterThan(Date.now() + 29 * 86_400_000);
    const me = await api.request('GET', '/api/me', { token: res.body.token });
    expect(me.status).toBe(200);
    expect(me.body.user.username).toBe('root');

    const bad = await api.request('POST', '/api/auth/tokens', { token: admin, body: { name: 'x', ttlDays: 0 } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('STW_ERR_VALIDATION');

    // Revoking: log out with the API token itself.
    expect((await api.request('POST', '/api/auth/logout', { token: res.body.token })).status).toBe(204);
    expect((await api.request('GET', '/api/me', { token: res.body.token })).status).toBe(401);
  });
});

describe('first-start setup over HTTP', () => {
  let api: Harness;
  beforeAll(async () => {
    api = await startApi();
  });
  afterAll(() => api.close());

  it('creates the first admin once, then answers STW_ERR_SETUP_DONE', async () => {
    const setupToken = await ensureSetupToken({ users: api.users, settings: api.storage.settings });
    expect(setupToken).not.toBeNull();

    const wrong = await api.request('POST', '/api/auth/setup', { body: { setupToken: 'guess', username: 'root', password: PASSWORD } });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('STW_ERR_SETUP_TOKEN_INVALID');

    const weak = await api.request('POST', '/api/auth/setup', { body: { setupToken, username: 'root', password: 'short' } });
    expect(weak.status).toBe(400);
    expect(weak.body.error.code).toBe('STW_ERR_VALIDATION');

    const ok = await api.request('POST', '/api/auth/setup', { body: { setupToken, username: 'root', password: PASSWORD } });
    expect(ok.status).toBe(201);
    expect(ok.body.user).toMatchObject({ username: 'root', role: 'admin' });

    const again = await api.request('POST', '/api/auth/setup', { body: { setupToken, username: 'evil', password: PASSWORD } });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('STW_ERR_SETUP_DONE');

    const login = await api.request('POST', '/api/auth/login', { body: { username: 'root', password: PASSWORD } });
    expect(login.status).toBe(200);
    expect(await ensureSetupToken({ users: api.users, settings: api.storage.settings })).toBeNull();
    // The hotel is visible to the new admin: no site scoping for the first account.
    const sites = await api.request('GET', '/api/sites', { token: login.body.token });
    expect(sites.body.items.map((s: { id: string }) => s.id)).toContain(HOTEL);
  });
});
