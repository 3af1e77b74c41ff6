/**
 * The Grafana dashboard and datasource in grafana/ against a real influxd: events, heartbeats and
 * footfall counts written by the InfluxDB event store, the footfall rollups run, then every
 * panel's InfluxQL (with Grafana's macros filled in as Grafana fills them) must return data.
 * A renamed measurement, tag, field or retention policy breaks a panel here, not in a
 * customer's Grafana.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { InfluxDB } from 'influx';
import { load as loadYaml } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InfluxEventStore } from '../../server/storage/influx/event-store.ts';
import { FOOTFALL_ROLLUPS } from '../../server/storage/influx/schema.ts';
import { rollupSelect } from '../../server/storage/influx/setup.ts';
import type { NewEvent } from '../../server/storage/types.ts';
import { startInfluxd, type Influxd } from '../helpers/influxd.ts';

const GRAFANA = path.join(import.meta.dirname, '..', '..', 'grafana');
const DATABASE = 'storetwin';
const SITE = 'demo-shop';

interface Target {
  refId: string;
  query: string;
  datasource: { type: string; uid: string };
}
interface Panel {
  id: number;
  title: string;
  datasource: { type: string; uid: string };
  targets: Target[];
}
interface Dashboard {
  uid: string;
  panels: Panel[];
  templating: { list: Array<{ name: string; query: string; datasource: { uid: string } }> };
}

const dashboard = JSON.parse(readFileSync(path.join(GRAFANA, 'dashboards', 'storetwin.json'), 'utf8')) as Dashboard;

/** What Grafana substitutes before sending a raw InfluxQL query. */
function expand(query: string): string {
  return query
    .replaceAll('$timeFilter', 'time >= now() - 3h')
    .replaceAll('$__interval', '1m')
    .replaceAll('$site', SITE);
}

let influxd: Influxd;
let influx: InfluxDB;

beforeAll(async () => {
  influxd = await startInfluxd();
  influx = new InfluxDB(`${influxd.url}/${DATABASE}`);
  const store = new InfluxEventStore(`${influxd.url}/${DATABASE}`);
  await store.start();
  const now = Date.now();
  const events: NewEvent[] = [];
  const add = (minutesAgo: number, device: string, deviceType: string, zone: string, data: NewEvent['data']): void => {
    const ts = new Date(now - minutesAgo * 60_000).toISOString();
    events.push({ site: SITE, device, deviceType, zone, type: data.type, seq: events.length, ts, receivedAt: ts, data });
  };
  for (let m = 90; m > 0; m -= 5) {
    add(m, 'door-back', 'door-sensor', 'back-office', { type: 'door', state: m % 10 === 0 ? 'open' : 'closed' });
    add(m, 'door-back', 'door-sensor', 'back-office', { type: 'heartbeat', battery: 3.1 - m / 1000, rsrp: -95 - (m % 7), snr: 6.5 });
    add(m, 'counter-main', 'footfall-counter', 'sales-hall', { type: 'count', in: 12, out: 9, period: 300 });
    add(m, 'counter-side', 'footfall-counter', 'sales-hall', { type: 'count', in: 3, out: 4, period: 300 });
  }
  await store.append(events);
  await store.stop();
  // The continuous queries run on InfluxDB's schedule; run their SELECT … INTO over the range now.
  const range = ` WHERE time >= ${(now - 3 * 3600_000) * 1e6} AND time <= ${now * 1e6}`;
  for (const rollup of FOOTFALL_ROLLUPS) await influx.query(rollupSelect(DATABASE, rollup, range));
}, 60_000);

afterAll(async () => {
  await influxd?.stop();
});

describe('grafana/', () => {
  it('provisions the datasource the dashboard names', () => {
    const provisioned = loadYaml(readFileSync(path.join(GRAFANA, 'provisioning', 'datasources', 'storetwin.yaml'), 'utf8')) as {
      datasources: Array<{ uid: string; type: string; jsonData: { dbName: string } }>;
    };
    const [source] = provisioned.datasources;
    expect(source).toMatchObject({ uid: 'storetwin-influxdb', type: 'influxdb' });
    const uids = new Set([...dashboard.panels.flatMap((p) => [p.datasource.uid, ...p.targets.map((t) => t.datasource.uid)]), ...dashboard.templating.list.map((v) => v.datasource.uid)]);
    expect([...uids]).toEqual([source?.uid]);
  });

  it('offers the sites that have events', async () => {
    const variable = dashboard.templating.list.find((v) => v.name === 'site');
    const rows = (await influx.query(variable?.query ?? '')) as unknown as Array<{ key: string; value: string }>;
    expect(rows.map((r) => r.value)).toEqual([SITE]);
  });

  it('has panels with unique ids, each with a query', () => {
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
    for (const p of dashboard.panels) expect(p.targets.length, p.title).toBeGreaterThan(0);
  });

  for (const panel of dashboard.panels) {
    it(`panel "${panel.title}" returns data`, async () => {
      for (const target of panel.targets) {
        const result = await influx.query(expand(target.query));
        const groups = result.groups();
        const values = groups.flatMap((g) => g.rows.flatMap((row) => Object.entries(row as Record<string, unknown>).filter(([k]) => k !== 'time').map(([, v]) => v)));
        expect(groups.length, target.query).toBeGreaterThan(0);
        expect(
          values.some((v) => typeof v === 'number' && v !== 0),
          target.query,
        ).toBe(true);
      }
    });
  }
});
