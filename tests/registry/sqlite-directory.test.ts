/** The device directory over the SQLite device store; `cli` is a second connection, as the CLI's. */
import { sqliteRegistryStores } from '../helpers/registry-stores.ts';
import { directoryTests } from './directory.contract.ts';

directoryTests('sqlite', sqliteRegistryStores(), { announcesWrites: false });
