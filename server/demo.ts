/**
 * The demo: registers every device placed in the loaded site files (once; their secrets go to
 * <dataDir>/demo-credentials.json, mode 0600) and runs a simulator per site against the
 * broker, so a newcomer sees live data and alarms the moment the server is up. With an
 * external broker the simulators connect to it like real devices: that works where the broker
 * takes StoreTwin's credentials (Mosquitto with the files StoreTwin writes, EMQX with its auth
 * endpoints), and elsewhere they are refused, which the banner's count of connected devices shows.
 */
import path from 'node:path';
import { existsSync } from 'node:fs';
import { readCredentials, writeCredentials, type Credentials } from '../simulators/credentials.ts';
import { PictureThread } from '../simulators/picture-thread.ts';
import { SiteSimulator } from '../simulators/site-simulator.ts';
import type { App } from './app.ts';

export function demoCredentialsFile(dataDir: string): string {
  return path.join(dataDir, 'demo-credentials.json');
}

/** Registers the site files' devices that are not registered yet; returns every demo secret. */
export async function seedDemoDevices(app: App): Promise<Credentials> {
  const file = demoCredentialsFile(app.config.dataDir);
  const credentials: Credentials = existsSync(file) ? await readCredentials(file) : {};
  const pending = app.sites.list().flatMap((site) =>
    site.devices
      .filter((p) => !(app.storage.registry.getDevice(p.id) && credentials[p.id]))
      .map(async (p) => {
        // Registered but its secret was lost (credentials file deleted): issue a new one.
        const issued = app.storage.registry.getDevice(p.id)
          ? await app.devices.rotateSecret(p.id)
          : await app.devices.register({ id: p.id, site: site.id, type: p.type, zone: p.zone, label: p.label ?? null, position: p.position ?? null });
        credentials[p.id] = issued.secret;
      }),
  );
  await Promise.all(pending);
  const changed = pending.length > 0;
  if (changed) await writeCredentials(file, credentials);
  return credentials;
}

export interface DemoRunner {
  simulators: SiteSimulator[];
  stop(): Promise<void>;
}

/** Starts one simulator per loaded site that has placed devices. */
export async function startDemo(app: App, credentials: Credentials): Promise<DemoRunner> {
  if (!app.addresses) throw new Error('start the app (listen) before the demo');
  // Mosquitto must have read the demo devices' password lines before they log in.
  await app.mosquitto?.sync();
  // The cameras' pictures are rendered off the event loop the alarms need (picture-thread.ts).
  const pictures = new PictureThread();
  pictures.start();
  const simulators = app.sites
    .list()
    .filter((site) => site.devices.length > 0)
    .map((site) => new SiteSimulator({ url: app.addresses!.mqttUrl, site, credentials, speed: app.config.demoSpeed, pictures }));
  await Promise.all(simulators.map((s) => s.start()));
  return {
    simulators,
    async stop() {
      await Promise.all(simulators.map((s) => s.stop()));
      await pictures.close();
    },
  };
}
