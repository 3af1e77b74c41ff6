/**
 * The data directory's layout, created on first use. The server does it when it starts, and
 * so do the CLI commands that provision before the first start (`user add`, `device add`):
 * both call this, so a directory prepared by either looks the same to the other. The SQLite
 * file is created (and migrated) when the database is opened.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Config } from './config.ts';

/** Creates `<dataDir>`, `<dataDir>/sites` and `<dataDir>/rules` if missing (the folders for the user's own site and rule files). */
export function prepareDataDir(config: Pick<Config, 'dataDir'>): void {
  mkdirSync(path.join(config.dataDir, 'sites'), { recursive: true });
  mkdirSync(path.join(config.dataDir, 'rules'), { recursive: true });
}
