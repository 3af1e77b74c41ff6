/**
 * `storetwin serve` and `storetwin demo`: run the server (with the demo unless --no-demo;
 * with `--demo-devices off`, the demo sites and devices without their simulators).
 */
import { Option, type Command } from 'commander';
import { createApp, type App } from '../app.ts';
import { seedDemoDevices, startDemo, type DemoRunner } from '../demo.ts';
import { addCommonOptions, configFrom, type CommonOptions } from './options.ts';

interface ServeOptions extends CommonOptions {
  host?: string;
  httpPort?: string;
  mqttPort?: string;
  mqttUrl?: string;
  demo: boolean;
  demoSpeed?: string;
  demoDevices?: string;
  worker?: boolean;
  workerName?: string;
}

export function registerServeCommands(program: Command): void {
  addCommonOptions(program.command('serve').description('run the server: broker, ingest, twin, API (and the demo sites with their simulators)'))
    .addOption(new Option('--host <host>', 'interface to listen on [env STORETWIN_HOST, default 0.0.0.0]'))
    .addOption(new Option('--http-port <port>', 'HTTP port: API, dashboard, MQTT over WebSocket at /mqtt; 0 = any free [env STORETWIN_HTTP_PORT, default 8080]'))
    .addOption(new Option('--mqtt-port <port>', 'MQTT/TCP port; 0 = any free [env STORETWIN_MQTT_PORT, default 1883]'))
    .addOption(new Option('--mqtt-url <url>', 'use an external broker instead of the embedded one: mqtt[s]://user:pass@host:port [env STORETWIN_MQTT_URL]'))
    .addOption(new Option('--no-demo', 'start without the demo sites and their simulators'))
    .addOption(new Option('--demo-speed <n>', 'simulated seconds per real second for the demo [default 30]'))
    .addOption(demoDevicesOption())
    .addOption(new Option('--worker', 'one of several workers sharing the sites: no embedded broker, no demo; needs STORETWIN_MQTT_URL, STORETWIN_DATABASE_URL, STORETWIN_INFLUX_URL and STORETWIN_REDIS_URL [env STORETWIN_WORKER]'))
    .addOption(new Option('--worker-name <name>', "this worker's name among the live ones [env STORETWIN_WORKER_NAME, default host:pid]"))
    .action(async (opts: ServeOptions, cmd: Command) => run(cmd, opts, opts.demo && opts.worker !== true));

  addCommonOptions(program.command('demo').description('the same as serve, always with the demo sites and simulators'))
    .addOption(new Option('--host <host>', 'interface to listen on'))
    .addOption(new Option('--http-port <port>', 'HTTP port'))
    .addOption(new Option('--mqtt-port <port>', 'MQTT/TCP port'))
    .addOption(new Option('--mqtt-url <url>', 'an external broker instead of the embedded one'))
    .addOption(new Option('--demo-speed <n>', 'simulated seconds per real second [default 30]'))
    .addOption(demoDevicesOption())
    .action(async (opts: ServeOptions, cmd: Command) => run(cmd, opts, true));
}

function demoDevicesOption(): Option {
  return new Option('--demo-devices <on|off>', 'off: the demo sites and their devices without the simulators, to drive them with storetwin simulate [env STORETWIN_DEMO_DEVICES, default on]').choices(['on', 'off']);
}

async function run(cmd: Command, opts: ServeOptions, demo: boolean): Promise<void> {
  const config = configFrom(cmd, {
    host: opts.host,
    httpPort: opts.httpPort,
    mqttPort: opts.mqttPort,
    mqttUrl: opts.mqttUrl,
    dataDir: opts.dataDir,
    sitesDirs: opts.sitesDir,
    logLevel: opts.logLevel,
    demoSpeed: opts.demoSpeed,
    demoDevices: opts.demoDevices,
    // --no-demo only ever turns the demo off; STORETWIN_DEMO=0 does too (and --worker).
    demo: demo ? undefined : false,
    cluster: opts.worker === true || opts.workerName !== undefined ? { ...(opts.worker === true ? { worker: true } : {}), ...(opts.workerName === undefined ? {} : { workerName: opts.workerName }) } : undefined,
  });
  const app = await createApp(config);
  await app.listen();
  const state: { runner: DemoRunner | null } = { runner: null };
  installShutdown(app, state);
  printBanner(app);
  if (config.demo && !config.demoDevices) {
    await seedDemoDevices(app);
    console.log(`demo: sites and devices without simulators (--demo-devices off); device secrets in ${config.dataDir}/demo-credentials.json\n`);
  } else if (config.demo) {
    const started = Date.now();
    const credentials = await seedDemoDevices(app);
    state.runner = await startDemo(app, credentials);
    const devices = state.runner.simulators.reduce((n, s) => n + s.stats().devices, 0);
    const connected = state.runner.simulators.reduce((n, s) => n + s.stats().connected, 0);
    console.log(
      `demo: ${state.runner.simulators.length} site simulators, ${connected}/${devices} devices connected at ${config.demoSpeed}x speed ` +
        `(${((Date.now() - started) / 1000).toFixed(1)} s); device secrets in ${config.dataDir}/demo-credentials.json\n`,
    );
  }
}

function printBanner(app: App): void {
  const a = app.addresses!;
  const lines = [
    '',
    'StoreTwin is running',
    `  dashboard     ${a.httpUrl}/   (managers' phone view ${a.httpUrl}/m)`,
    `  HTTP API      ${a.httpUrl}/api   (health ${a.httpUrl}/healthz, metrics ${a.httpUrl}/metrics)`,
    app.broker.kind === 'embedded'
      ? `  MQTT          ${a.mqttUrl}   and ws://${a.httpUrl.slice('http://'.length)}/mqtt`
      : `  MQTT          ${a.mqttUrl}   (external broker: devices connect there; no broker of our own)`,
    `  data          ${app.config.dataDir}`,
    `  sites         ${app.sites.list().map((s) => s.id).join(', ') || '(none: put site files in ' + app.config.dataDir + '/sites)'}`,
  ];
  if (app.setupToken) {
    lines.push(
      '',
      'No user exists yet. Create the first admin with either:',
      `  storetwin user add admin --role admin            (prompts for the password on stdin)`,
      `  curl -X POST ${a.httpUrl}/api/auth/setup -H 'content-type: application/json' \\`,
      `       -d '{"setupToken":"${app.setupToken}","username":"admin","password":"<at least 10 characters>"}'`,
    );
  }
  console.log(lines.join('\n') + '\n');
}

function installShutdown(app: App, state: { runner: DemoRunner | null }): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) process.exit(1); // a second Ctrl-C forces it
    stopping = true;
    app.logger.info({ signal }, 'shutting down');
    try {
      await state.runner?.stop();
      await app.stop();
      process.exit(0);
    } catch (err) {
      app.logger.error({ err }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}
