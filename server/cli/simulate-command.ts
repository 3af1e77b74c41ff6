/**
 * `storetwin simulate` — run a whole site's devices, or one device, against any MQTT broker, or
 * through an integration's wire format (`--via`). Any registered device: placed in a site file,
 * or registered by hand and looked up on the server (`--api-token`), with its `--secret`.
 */
import type { Command } from 'commander';
import { DEFAULT_CREDENTIALS_FILE, DEFAULT_HTTP_URL, DEFAULT_LISTEN, DEFAULT_MQTT_URL, SimulateCommandError, runSimulateCommand } from '../../simulators/cli.ts';
import { viaAdapterIds } from '../../simulators/via/index.ts';

export function registerSimulateCommand(program: Command): void {
  program
    .command('simulate')
    .description('simulate the devices of a site (or one device) against an MQTT broker, ours or any other, or through an integration (--via)')
    .option('--url <url>', `broker URL: mqtt://host:port or ws://host:port/mqtt [default ${DEFAULT_MQTT_URL}]; with --via, StoreTwin's HTTP address [default ${DEFAULT_HTTP_URL}]`)
    .option('--site <site>', 'site whose devices to run (e.g. demo-hotel)')
    .option('--sites-dir <dir>', 'directory with site files [default: the shipped demo sites]')
    .option('--credentials <file>', `device secrets, {"devices":{"id":"secret"}} [default ${DEFAULT_CREDENTIALS_FILE} if present]`)
    .option('--speed <n>', 'simulated seconds per real second, 1..3600 [default 1]')
    .option('--seed <n>', 'seed for repeatable behaviour')
    .option('--qos <0|1>', 'QoS of events [default 1]')
    .option('--duration <seconds>', 'stop after this many real seconds')
    .option('--start-at <iso>', 'start the simulated clock here, e.g. 2026-11-23T12:00:00+08:00 (a busy noon) [default now]')
    .option('--device <id>', 'only this device (with an action below: send it once and exit); a demo device is taken over from the running demo')
    .option('--secret <secret>', "with --device: the device's MQTT secret (instead of a credentials file)")
    .option('--open', 'door sensor: send door open')
    .option('--close', 'door sensor: send door closed')
    .option('--tamper', 'send a tamper alarm')
    .option('--heartbeat', 'send a heartbeat')
    .option('--motion', 'camera: send a motion event')
    .option('--offline', 'drop the connection without DISCONNECT so the broker publishes the last will')
    .option('--interactive', 'with --device: keys o/c/t/h/m/x/r/q = open/close/tamper/heartbeat/motion/offline/reconnect/quit')
    .option('--via <adapter>', `send through an integration's wire format instead of MQTT: ${viaAdapterIds().join(', ')}`)
    .option('--token <token>', "--via a push adapter: the integration's token (POST /api/integrations answers it)")
    .option('--settings <json>', `--via: the integration's settings the format needs, e.g. '{"token":"…"}' for OneNET's signature`)
    .option('--api-token <token>', "look up a device registered by hand (no site file places it) on StoreTwin; --via: also read the devices' externalIds (GET /api/devices) instead of deriving them")
    .option('--api-url <url>', `with --api-token, without --via: StoreTwin's HTTP address [default ${DEFAULT_HTTP_URL}]`)
    .option('--external-id <id>', "--via with --device: the device's id on the platform, when registered by hand")
    .option('--listen <[host:]port>', `--via axis: where to serve the counters' live-sum.json [default ${DEFAULT_LISTEN.host}:${DEFAULT_LISTEN.port}]`)
    .option('--username <name>', '--via axis: require HTTP digest authentication with this user')
    .option('--password <password>', '--via axis: the digest password')
    .option('--frigate-mqtt <url>', '--via frigate: the MQTT broker Frigate publishes to, mqtt://[user:pass@]host:port')
    .action(async (opts: Record<string, unknown>) => {
      try {
        await runSimulateCommand(opts);
      } catch (err) {
        if (err instanceof SimulateCommandError) {
          console.error(err.code ? `error ${err.code}: ${err.message}` : `error: ${err.message}`);
          process.exit(err.exitCode);
        }
        throw err;
      }
    });
}
