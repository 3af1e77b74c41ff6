/**
 * `storetwin` — the command line. Each command validates its options once (config.ts) and
 * reports every problem together; errors print their STW_ERR_ code and exit non-zero.
 */
import { Command, Option } from 'commander';
import { isStoreTwinError } from '../errors.ts';
import { registerDeviceCommands } from './device-commands.ts';
import { registerServeCommands } from './serve-commands.ts';
import { registerSimulateCommand } from './simulate-command.ts';
import { registerUserCommands } from './user-commands.ts';

export function buildProgram(): Command {
  const program = new Command('storetwin')
    .description('StoreTwin: smart-store IoT monitor and digital twin')
    .version('0.1.0')
    .showHelpAfterError()
    .addOption(new Option('--config <file>', 'config file (YAML or JSON)').env('STORETWIN_CONFIG'));
  registerServeCommands(program);
  registerSimulateCommand(program);
  registerDeviceCommands(program);
  registerUserCommands(program);
  return program;
}

export function reportError(err: unknown): never {
  if (isStoreTwinError(err)) {
    console.error(`error ${err.code}: ${err.message}`);
  } else {
    console.error(`error: ${(err as Error)?.stack ?? String(err)}`);
  }
  process.exit(1);
}
