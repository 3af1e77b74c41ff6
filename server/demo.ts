/**
 * The demo: registers every device placed in the loaded site files (once; their secrets go to
 * <dataDir>/demo-credentials.json, mode 0600) and runs a simulator per site against the
 * broker, so a newcomer sees live data and alarms the moment the server is up.
 *
 * On the embedded broker the simulated devices connect in-process (Broker.connectInProcess),
 * so the broker tells them from anyone else logging in with a device's credentials — a real
 * device, `storetwin simulate --device …`. Such a client takes the device over: the demo stands
 * aside for that device (no events, no status, no door closing behind the client) until the
 * client has been gone for `yieldGraceMs`, then drives it again.
 *
 * With an external broker the simulators connect to it like real devices: that works where the
 * broker takes StoreTwin's credentials (Mosquitto with the files StoreTwin writes, EMQX with its
 * auth endpoints), and elsewhere they are refused, which the banner's count of connected devices
 * shows. There the demo cannot see other clients, so it does not stand aside: run the server
 * with `--demo-devices off` to drive the demo devices yourself.
 */
import path from 'node:path';
import { existsSync } from 'node:fs';
import { readCredentials, writeCredentials, type Credentials } from '../simulators/credentials.ts';
import { MqttTransport } from '../simulators/mqtt-transport.ts';
import { PictureThread } from '../simulators/picture-thread.ts';
import { SiteSimulator } from '../simulators/site-simulator.ts';
import type { App } from './app.ts';
import { Broker, type DeviceConnection } from './broker/broker.ts';

/** How long a device must have been free of other clients before the demo drives it again. */
export const DEFAULT_YIELD_GRACE_MS = 60_000;

export function demoCredentialsFile(dataDir: string): string {
  return path.join(dataDir, 'demo-credentials.json');
}

/** Registers the site files' devices that are not registered yet; returns every demo secret. */
export async function seedDemoDevices(app: App): Promise<Credentials> {
  const file = demoCredentialsFile(app.config.dataDir);
  const credentials: Credentials = existsSync(file) ? await readCredentials(file) : {};
  const pending = app.sites.list().flatMap((site) =>
    site.devices
      .filter((p) => !(app.directory.getDevice(p.id) && credentials[p.id]))
      .map(async (p) => {
        // Registered but its secret was lost (credentials file deleted): issue a new one.
        const issued = app.directory.getDevice(p.id)
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
  /** Ids of the devices another client holds now, or held less than the grace ago. */
  yielded(): string[];
  stop(): Promise<void>;
}

export interface DemoOptions {
  /** How long a taken-over device must have been free before the demo drives it again (default 60 s). */
  yieldGraceMs?: number;
}

/** Starts one simulator per loaded site that has placed devices. */
export async function startDemo(app: App, credentials: Credentials, options: DemoOptions = {}): Promise<DemoRunner> {
  if (!app.addresses) throw new Error('start the app (listen) before the demo');
  // Mosquitto must have read the demo devices' password lines before they log in.
  await app.mosquitto?.sync();
  const embedded = app.broker instanceof Broker ? app.broker : null;
  // The cameras' pictures are rendered off the event loop the alarms need (picture-thread.ts).
  const pictures = new PictureThread();
  pictures.start();
  const simulators = app.sites
    .list()
    .filter((site) => site.devices.length > 0)
    .map(
      (site) =>
        new SiteSimulator({
          ...(embedded ? { transport: new MqttTransport('the embedded broker (in-process)', () => embedded.connectInProcess()) } : { url: app.addresses!.mqttUrl }),
          site,
          credentials,
          speed: app.config.demoSpeed,
          pictures,
          // After a restart the people the twin still counts inside leave through the counters.
          occupancy: (zone) => app.twin.siteState(site.id)?.zones[zone]?.occupancy,
        }),
    );
  // Listening before the devices connect: a client already holding a device takes it at once.
  const takeOver = embedded ? new TakeOver(simulators, options.yieldGraceMs ?? DEFAULT_YIELD_GRACE_MS, app) : null;
  const unsubscribe = embedded && takeOver ? embedded.onDeviceConnection((c) => takeOver.seen(c)) : () => false;
  await Promise.all(simulators.map((s) => s.start()));
  return {
    simulators,
    yielded: () => takeOver?.held() ?? [],
    async stop() {
      unsubscribe();
      takeOver?.stop();
      await Promise.all(simulators.map((s) => s.stop()));
      await pictures.close();
    },
  };
}

/**
 * Which demo devices another client holds. A device's other client connecting makes its
 * simulator stand aside at once; the last one leaving starts the grace, after which the
 * simulator drives the device again. Connections of the demo itself (local) are not counted.
 */
class TakeOver {
  /** device id → other clients connected as it (a reconnect overlaps the old connection). */
  private readonly holders = new Map<string, number>();
  private readonly graceTimers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly simulators: SiteSimulator[],
    private readonly graceMs: number,
    private readonly app: App,
  ) {}

  seen(c: DeviceConnection): void {
    if (c.local) return;
    // Looked up each time: a simulator knows its devices once it started.
    const sim = this.simulators.find((s) => s.deviceIds().includes(c.device));
    if (!sim) return;
    const holding = Math.max(0, (this.holders.get(c.device) ?? 0) + (c.connected ? 1 : -1));
    this.holders.set(c.device, holding);
    clearTimeout(this.graceTimers.get(c.device));
    this.graceTimers.delete(c.device);
    if (c.connected) {
      if (!sim.isYielded(c.device)) this.app.logger.info({ device: c.device }, 'demo: another client took the device over; the simulator stands aside');
      void sim.standAside(c.device);
      return;
    }
    if (holding > 0) return;
    const timer = setTimeout(() => {
      this.graceTimers.delete(c.device);
      this.holders.delete(c.device);
      this.app.logger.info({ device: c.device }, 'demo: the device is free again; the simulator drives it');
      void sim.resume(c.device);
    }, this.graceMs);
    timer.unref();
    this.graceTimers.set(c.device, timer);
  }

  held(): string[] {
    return this.simulators.flatMap((sim) => sim.deviceIds().filter((id) => sim.isYielded(id)));
  }

  stop(): void {
    for (const timer of this.graceTimers.values()) clearTimeout(timer);
    this.graceTimers.clear();
  }
}
