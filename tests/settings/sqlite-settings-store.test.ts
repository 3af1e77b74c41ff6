/** The settings store on SQLite: the contract suite over a real database file (two connections). */
import { sqliteRegistryStores } from '../helpers/registry-stores.ts';
import { settingsStoreContract } from './settings-store.contract.ts';

settingsStoreContract('sqlite', sqliteRegistryStores());
