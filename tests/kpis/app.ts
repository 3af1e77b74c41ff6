/**
 * A real app for the response-KPI tests (the routes and the dashboard page): real broker,
 * SQLite file and HTTP server on ports 0, with a clock that the test can step forward, so
 * "acknowledged 90 s after the raise" takes no 90 s. Alarms are raised the real way: a door
 * sensor over MQTT in an armed zone.
 */
import { rm } from 'node:fs/promises';
import type { MqttClient } from 'mqtt';
import { createApp, type App } from '../../server/app.ts';
import type { Alarm } from '../../server/alarms/types.ts';
import { systemClock, type Clock } from '../../server/clock.ts';
import type { Role } from '../../server/storage/types.ts';
import { createLogger } from '../../server/observability/logger.ts';
import { eventually, tempDir, testConfig } from '../helpers/app.ts';
import { connectDevice } from '../helpers/mqtt.ts';

export const PASSWORD = 'correct horse battery';

/** Wall time plus an offset the test moves forward: the app's clock (raises, acks, timers). */
export class SteppedClock implements Clock {
  offsetMs = 0;

  now(): number {
    return Date.now() + this.offsetMs;
  }

  at(at: number, fn: () => void): () => void {
    return systemClock.at(at - this.offsetMs, fn);
  }

  step(ms: number): void {
    this.offsetMs += ms;
  }
}

export interface KpiApp {
  app: App;
  httpUrl: string;
  mqttUrl: string;
  clock: SteppedClock;
  /** A user of that role (limited to `sites` if given) and a bearer token for it. */
  user(username: string, role: Role, sites?: string[]): Promise<string>;
  /** A door sensor registered in `site`/`zone`, the zone armed, connected over MQTT. */
  door(site: string, zone: string, id: string): Promise<TestDoor>;
  stop(): Promise<void>;
}

export interface TestDoor {
  /** Opens and closes the door `times` times, then waits for its one open alarm (count ≥ times, restored). */
  flap(times: number): Promise<Alarm>;
}

export async function startKpiApp(): Promise<KpiApp> {
  const dataDir = await tempDir('storetwin-kpis-');
  const clock = new SteppedClock();
  const app = await createApp(testConfig(dataDir), { clock, logger: createLogger({ level: (process.env.TEST_LOG_LEVEL as 'info') ?? 'silent' }) });
  const addresses = await app.listen();
  const clients: MqttClient[] = [];
  const adminToken = await (async () => {
    await app.users.createUser({ username: 'kpi-admin', password: PASSWORD, role: 'admin' });
    return (await app.users.login('kpi-admin', PASSWORD)).token;
  })();
  const api = async (method: string, url: string): Promise<{ status: number; body: { items?: Alarm[] } }> => {
    const res = await fetch(`${addresses.httpUrl}${url}`, { method, headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: method === 'POST' ? '{}' : undefined });
    return { status: res.status, body: (await res.json()) as { items?: Alarm[] } };
  };
  return {
    app,
    httpUrl: addresses.httpUrl,
    mqttUrl: addresses.mqttUrl,
    clock,
    async user(username, role, sites = []) {
      await app.users.createUser({ username, password: PASSWORD, role, sites });
      return (await app.users.login(username, PASSWORD)).token;
    },
    async door(site, zone, id) {
      const { secret } = await app.devices.register({ id, site, type: 'door-sensor', zone });
      const client = await connectDevice(addresses.mqttUrl, id, secret);
      clients.push(client);
      const armed = await api('POST', `/api/sites/${site}/zones/${zone}/arm`);
      if (armed.status !== 200) throw new Error(`arming ${site}/${zone}: ${armed.status}`);
      let seq = 0;
      const send = (state: 'open' | 'closed') => client.publishAsync(`storetwin/${site}/${id}/up`, JSON.stringify({ type: 'door', state, seq: ++seq }), { qos: 1 });
      return {
        async flap(times) {
          for (let i = 0; i < times; i++) {
            await send('open');
            await send('closed');
          }
          const [alarm] = await eventually(async () => {
            const items = (await api('GET', `/api/alarms?site=${site}&state=open&rule=door-opened-armed&limit=100`)).body.items ?? [];
            const mine = items.filter((a) => a.device === id);
            return mine.length === 1 && mine[0]!.count >= times && mine[0]!.restoredAt !== null ? mine : null;
          });
          return alarm!;
        },
      };
    },
    async stop() {
      for (const c of clients) await c.endAsync();
      await app.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
