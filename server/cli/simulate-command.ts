/** `storetwin simulate` — run a whole site's devices, or one device, against any MQTT broker. */
import type { Command } from 'commander';
import { DEFAULT_CREDENTIALS_FILE, DEFAULT_MQTT_URL, SimulateCommandError, runSimulateCommand } from '../../simulators/cli.ts';

export function registerSimulateCommand(program: Command): void {
  program
    .command('simulate')
    .description('simulate the devices of a site (or one device) against an MQTT broker, ours or any other')
    .option('--url <url>', `broker URL: mqtt://host:port or ws://host:port/mqtt [default ${DEFAULT_MQTT_URL}]`)
    .option('--site <site>', 'site whose devices to run (e.g. demo-hotel)')
    .option('--sites-dir <dir>', 'directory with site files [default: the shipped demo sites]')
    .option('--credentials <file>', `device secrets, {"devices":{"id":"secret"}} [default ${DEFAULT_CREDENTIALS_FILE} if present]`)
    .option('--speed <n>', 'simulated seconds per real second, 1..3600 [default 1]')
    .option('--seed <n>', 'seed for repeatable behaviour')
    .option('--qos <0|1>', 'QoS of events [default 1]')
    .option('--duration <seconds>', 'stop after this many real seconds')
    .option('--device <id>', 'only this device (with an action below: send it once and exit)')
    .option('--open', 'door sensor: send door open')
    .option('--close', 'door sensor: send door closed')
    .option('--tamper', 'send a tamper alarm')
    .option('--heartbeat', 'send a heartbeat')
    .option('--motion', 'camera: send a motion event')
    .option('--offline', 'drop the connection without DISCONNECT so the broker publishes the last will')
    .option('--interactive', 'with --device: keys o/c/t/h/m/x/r/q = open/close/tamper/heartbeat/motion/offline/reconnect/quit')
    .action(async (opts: Record<string, unknown>) => {
      try {
        await runSimulateCommand(opts);
      } catch (err) {
        if (err instanceof SimulateCommandError) {
          console.error(`error: ${err.message}`);
          process.exit(err.exitCode);
        }
        throw err;
      }
    });
}
