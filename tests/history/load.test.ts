/**
 * The replay payload for 24 h of the 120-room demo hotel: complete, and compact on the wire.
 * A day and a half of the hotel's simulated life (the lookback reaches back to local midnight
 * before `from`) goes into a real SQLite file and is fetched over real HTTP, gzipped as a
 * browser asks for it. How fast it loads is measured by `npm run bench:history`, not here.
 */
import { request as httpRequest } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { historyRoutes } from '../../server/api/routes/history.ts';
import { SqliteAlarmStore } from '../../server/alarms/sqlite-store.ts';
import type { History } from '../../server/history/history.ts';
import { localDayStart } from '../../server/history/local-time.ts';
import { HOTEL } from '../api/harness.ts';
import { generateSiteEvents, registerSiteDevices } from './demo-day.ts';
import { startRoutes, type RoutesHarness } from './harness.ts';

const TO = Date.parse('2026-11-24T04:00:00Z'); // 12:00 in Shanghai
const FROM = TO - 24 * 3600_000;

function get(url: string, token: string): Promise<{ ms: number; status: number; wire: number; body: Buffer; encoding: string | undefined }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers: { authorization: `Bearer ${token}`, 'accept-encoding': 'gzip, deflate, br' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const wire = Buffer.concat(chunks);
        const encoding = res.headers['content-encoding'];
        resolve({ ms: performance.now() - started, status: res.statusCode ?? 0, wire: wire.length, body: encoding === 'gzip' ? gunzipSync(wire) : wire, encoding });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('history of the demo hotel', () => {
  let h: RoutesHarness;
  let token: string;
  let events = 0;

  beforeAll(async () => {
    h = await startRoutes({ routes: (storage) => [historyRoutes({ alarms: new SqliteAlarmStore(storage.db), now: () => TO })] });
    const site = h.sites.get(HOTEL)!;
    await registerSiteDevices(h.storage, site, h.directory);
    events = await generateSiteEvents(h.storage, site, { fromMs: localDayStart(FROM, site.timezone) - 3600_000, toMs: TO, seed: 42 });
    token = await h.userToken('op', 'operator');
  }, 120_000);
  afterAll(async () => h?.close());

  it('serves 24 h complete and gzipped, small enough for a phone', async () => {
    const url = `${h.base}/api/sites/${HOTEL}/history?from=${new Date(FROM).toISOString()}&to=${new Date(TO).toISOString()}`;
    const first = await get(url, token);
    expect(first.status).toBe(200);
    expect(first.encoding).toBe('gzip');
    const history = JSON.parse(first.body.toString('utf8')) as History;
    const devices = Object.keys(history.state.devices).length;
    console.log(
      `[history] demo hotel 24 h: ${events} events stored, ${devices} devices, ${history.changes.length} changes; ` +
        `${(first.body.length / 1024).toFixed(0)} KiB JSON, ${(first.wire / 1024).toFixed(0)} KiB gzipped`,
    );
    expect(devices).toBe(h.sites.get(HOTEL)!.devices.length);
    expect(history.changes.length).toBeGreaterThan(1000);
    // Deterministic for the seed: ~104 KiB today; a regression in compactness shows here.
    expect(first.wire).toBeLessThan(256 * 1024);
  }, 30_000);
});
