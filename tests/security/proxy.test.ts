/**
 * Finding 14: behind a reverse proxy every client shares the proxy's address. With
 * `http.trustProxy` off (the default) X-Forwarded-For is ignored, so a client cannot buy more
 * login guesses by inventing addresses; with it set, each real client has its own budget and
 * one noisy client cannot lock a name out for everybody.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

let t: TestApp | null = null;
afterEach(async () => {
  await t?.stop();
  t = null;
});

async function failedLogins(app: TestApp, forwardedFor: (i: number) => string, n: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${app.httpUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor(i) },
      body: JSON.stringify({ username: 'night-manager', password: 'wrong password' }),
    });
    statuses.push(res.status);
  }
  return statuses;
}

describe('trust proxy', () => {
  it('is off by default: invented X-Forwarded-For addresses share one budget', async () => {
    t = await startTestApp();
    const statuses = await failedLogins(t, (i) => `203.0.113.${i + 1}`, 11);
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(statuses[10]).toBe(429);
  });

  it('when set, counts each client behind the proxy on its own', async () => {
    t = await startTestApp({ http: { trustProxy: 1 } });
    // One client uses up its budget…
    const noisy = await failedLogins(t, () => '203.0.113.7', 11);
    expect(noisy[10]).toBe(429);
    // …and another client behind the same proxy still gets its answer.
    const other = await failedLogins(t, () => '198.51.100.9', 1);
    expect(other).toEqual([401]);
  });

  it('is read from STORETWIN_TRUST_PROXY and STORETWIN_ALLOWED_ORIGINS, merged with the file', () => {
    const config = loadConfig({ env: { STORETWIN_TRUST_PROXY: 'loopback', STORETWIN_ALLOWED_ORIGINS: 'https://ops.example.com/, https://noc.example.com' } });
    expect(config.http).toEqual({ trustProxy: 'loopback', allowedOrigins: ['https://ops.example.com', 'https://noc.example.com'] });
    expect(loadConfig({ env: { STORETWIN_TRUST_PROXY: '2' } }).http.trustProxy).toBe(2);
    expect(loadConfig({ env: { STORETWIN_TRUST_PROXY: 'false' } }).http.trustProxy).toBe(false);
  });
});
