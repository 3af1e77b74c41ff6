import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type Harness } from './harness.ts';

describe('HTTP app', () => {
  let api: Harness;
  let admin: string;
  let manager: string;

  beforeAll(async () => {
    api = await startApi();
    admin = await api.userToken('root', 'admin');
    manager = await api.userToken('boss', 'manager');
  });
  afterAll(() => api.close());

  it('reports health without auth, 503 while starting', async () => {
    const ok = await api.request('GET', '/healthz');
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ status: 'ok' });
    api.ready.value = false;
    const starting = await api.request('GET', '/healthz');
    expect(starting.status).toBe(503);
    expect(starting.body).toEqual({ status: 'starting' });
    api.ready.value = true;
  });

  it('sets security headers', async () => {
    const res = await api.request('GET', '/healthz');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-powered-by')).toBeNull();
  });

  it('answers unknown /api routes with JSON 404', async () => {
    const res = await api.request('GET', '/api/nope', { token: admin });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('STW_ERR_NOT_FOUND');
  });

  it('exposes Prometheus metrics without auth, counting requests by route pattern', async () => {
    await api.request('GET', '/api/devices/some-device-id', { token: admin });
    await api.request('GET', '/api/users', { token: manager });
    const res = await api.request('GET', '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    expect(res.text).toContain('storetwin_http_requests_total{method="GET",route="/api/devices/:device",status="404"} 1');
    expect(res.text).not.toContain('some-device-id');
    expect(res.text).toContain('storetwin_refusals_total{code="STW_ERR_FORBIDDEN",layer="http"} 1');
  });

  it('keeps user management to admins', async () => {
    for (const [method, path, body] of [
      ['GET', '/api/users', undefined],
      ['POST', '/api/users', { username: 'mallory', password: 'long enough pw', role: 'admin' }],
      ['DELETE', '/api/users/1', undefined],
    ] as const) {
      const res = await api.request(method, path, { token: manager, body });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.body.error.code).toBe('STW_ERR_FORBIDDEN');
    }

    const created = await api.request('POST', '/api/users', {
      token: admin,
      body: { username: 'shop.op', password: 'long enough pw', role: 'operator', sites: ['demo-shop'] },
    });
    expect(created.status).toBe(201);
    expect(created.body.user).toMatchObject({ username: 'shop.op', role: 'operator', sites: ['demo-shop'] });
    expect(created.text).not.toContain('passwordHash');

    const dup = await api.request('POST', '/api/users', { token: admin, body: { username: 'shop.op', password: 'long enough pw', role: 'operator' } });
    expect(dup.status).toBe(409);
    expect(dup.body.error.code).toBe('STW_ERR_USER_EXISTS');
    const badSite = await api.request('POST', '/api/users', { token: admin, body: { username: 'x.y', password: 'long enough pw', role: 'operator', sites: ['atlantis'] } });
    expect(badSite.status).toBe(404);
    expect(badSite.body.error.code).toBe('STW_ERR_SITE_NOT_FOUND');
    const weak = await api.request('POST', '/api/users', { token: admin, body: { username: 'x.y', password: 'short', role: 'operator' } });
    expect(weak.status).toBe(400);
    expect(weak.body.error.detail[0].path).toEqual(['password']);

    const list = await api.request('GET', '/api/users', { token: admin });
    expect(list.body.items.map((u: { username: string }) => u.username)).toEqual(['root', 'boss', 'shop.op']);
    expect(list.text).not.toContain('scrypt$');

    const del = await api.request('DELETE', `/api/users/${created.body.user.id}`, { token: admin });
    expect(del.status).toBe(204);
    const again = await api.request('DELETE', `/api/users/${created.body.user.id}`, { token: admin });
    expect(again.status).toBe(404);
    expect(again.body.error.code).toBe('STW_ERR_USER_NOT_FOUND');

    const rootId = list.body.items[0].id;
    const last = await api.request('DELETE', `/api/users/${rootId}`, { token: admin });
    expect(last.status).toBe(409);
    expect(last.body.error.code).toBe('STW_ERR_LAST_ADMIN');
  });

  it('answers unexpected failures with STW_ERR_INTERNAL and no stack', async () => {
    const original = api.storage.accounts.listUsers.bind(api.storage.accounts);
    api.storage.accounts.listUsers = async () => {
      throw new Error('disk on fire at /secret/path');
    };
    try {
      const res = await api.request('GET', '/api/users', { token: admin });
      expect(res.status).toBe(500);
      expect(res.body).toEqual({ error: { code: 'STW_ERR_INTERNAL', message: 'internal error' } });
      expect(res.text).not.toContain('disk on fire');
    } finally {
      api.storage.accounts.listUsers = original;
    }
  });
});
