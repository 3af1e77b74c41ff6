/** Options shared by the commands that open the server's data, and their mapping to config. */
import { Option, type Command } from 'commander';
import { loadConfig, type Config } from '../config.ts';

export interface CommonOptions {
  dataDir?: string;
  sitesDir?: string[];
  logLevel?: string;
}

export function addCommonOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--data-dir <dir>', 'data directory (SQLite, credentials, your site files) [env STORETWIN_DATA_DIR, default ./data]'))
    .addOption(new Option('--sites-dir <dir...>', 'directories with site files (YAML/JSON) [default: <data-dir>/sites and the shipped demo sites]'))
    .addOption(new Option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent [default info]'));
}

/** Config from (lowest first) defaults, the --config file, STORETWIN_* env, then these flags. */
export function configFrom(cmd: Command, flags: Record<string, unknown>): Config {
  const globals = cmd.optsWithGlobals<{ config?: string }>();
  return loadConfig({ file: globals.config, env: process.env, flags });
}
